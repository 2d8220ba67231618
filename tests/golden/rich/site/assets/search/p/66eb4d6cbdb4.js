digestSearch.piece("p/66eb4d6cbdb4",{"themes":{"decoupling":"A","inr":"D","quantization":"BA","unified-multimodal":"A"}});
