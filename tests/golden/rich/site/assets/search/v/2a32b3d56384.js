digestSearch.piece("v/2a32b3d56384",{"terms":[]});
