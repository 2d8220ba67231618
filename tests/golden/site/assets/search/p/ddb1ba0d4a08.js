digestSearch.piece("p/ddb1ba0d4a08",{"themes":{"decoupling":"D","inr":"C","quantization":"B","unified-multimodal":"D"}});
