"""BERT's pre-training objectives: 80/10/10 masking and the masked LM, NSP pairs and scoring (SOP), ELECTRA's replaced-token detection."""
