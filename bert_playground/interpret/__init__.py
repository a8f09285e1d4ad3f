"""Reading the model: attention, attribution, one head's neurons, contextual vectors, nearest uses, layer-wise probes."""
