digestSearch.piece("p/a037b3b20109",{"lengths":["EFGJ","MVRO","ACEG","AAAA"],"themes":{"decoupling":"D","inr":"C","quantization":"B","unified-multimodal":"D"}});
