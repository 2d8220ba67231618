digestSearch.piece("g/913ad98256c3",{"chunks":[["",[]]]});
