// The models of FasterTransformer's published benchmarks, defined once: the profiles sweep them, the
// dashboard matches FT's published figures against points that ran them.

/** BERT-base: the encoder of FT's BERT benchmark. */
export const BERT_BASE = { layers: 12, heads: 12, head_size: 64, inter_size: 3072 } as const;

/** FT's decoder and decoding benchmark model (its Transformer decoder, vocabulary 31538). */
export const FT_DECODER = { layers: 6, heads: 8, head_size: 64, inter_size: 2048, vocab: 31538 } as const;
