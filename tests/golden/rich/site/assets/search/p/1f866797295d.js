digestSearch.piece("p/1f866797295d",{"lengths":["JFHEH","OVPQN","GCCEA","MAIEC"],"themes":{"decoupling":"A","inr":"D","quantization":"BA","unified-multimodal":"A"}});
