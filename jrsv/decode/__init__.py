"""Long-audio decoding: mixed audio in, speech and singing transcripts out.

One concept per module, in pipeline order:
    audio_stream  files / raw PCM / arrays -> 16 kHz mono float32 blocks (soxr streaming)
    stft_stream   streaming STFT / iSTFT identical to torch.stft/istft(center=True)
    windowing     overlapping separation windows, cross-fade stitching of their outputs
    vad           energy VAD on a separated track (gated relative to the mixture) -> ASR pieces
    ctc           CTC greedy search with token peak times and confidences
    stitching     tokens of overlapping pieces -> one sequence (owned regions by CTC peak time)
    engine        batched model calls (separator, ASR encoder + CTC / beam search)
    pipeline      per-input sessions and the multi-input driver (batches across files)
    formats       Transcript / Segment, json / txt / srt / vtt, atomic writes
    transcriber   Python API (``jrsv.transcriber.Transcriber``)
    export        TorchScript export of the separator and ASR encoder + CTC
"""
