"""The parts of :class:`nps_nlp.FeedbackClassifier`, one concept per module.

- :mod:`.outputs`: :class:`HeadOutputs` and running the head over token states;
- :mod:`.labels`: checking training data, the model's themes and the training targets;
- :mod:`.splits`: epochs, folds, hold-outs and the number of heads of an ensemble;
- :mod:`.layers`: the encoder's tuned top layers (fine-tuning);
- :mod:`.head_training`: the training loop of one head, and its validation scores;
- :mod:`.thresholds`: per-theme decision thresholds tuned on held-out predictions;
- :mod:`.lexical`: the character/word n-gram model blended into theme probabilities;
- :mod:`.fitting`: ``fit`` end to end (heads, ensemble, thresholds, lexical model, zero-shot);
- :mod:`.zero_shot`: themes without examples, matched by their descriptions;
- :mod:`.evidence`: clause-level scores, the evidence span and the per-theme polarity;
- :mod:`.reading`: the text-only reading of each answer (before score fusion);
- :mod:`.persistence`: the saved model directory.

The token states come from :class:`nps_nlp.encoders.TokenEncoder` (torch or ONNX Runtime).
"""
