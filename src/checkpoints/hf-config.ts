// A Hugging Face model folder's config.json, read into what the engine needs of a BERT-family
// encoder: the family (its tensor names and position scheme), the dims, the activation, the
// LayerNorm eps. Anything the engine does not compute (another family, another activation or
// position scheme, a decoder) is refused by name (CheckpointError, exit 2).
import fs from 'node:fs';
import path from 'node:path';
import { CheckpointError } from './safetensors.js';

/** The families `--model` runs; xlm-roberta has RoBERTa's layout and tensor names. */
export const FAMILIES = ['bert', 'roberta', 'xlm-roberta', 'distilbert'] as const;
export type Family = (typeof FAMILIES)[number];

/** config.json's hidden_act (activation for DistilBERT) -> the engine's GELU. */
const ACTIVATIONS: Record<string, 'gelu_erf' | 'gelu_tanh'> = {
  gelu: 'gelu_erf', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh',
};

/** What the engine takes from config.json. */
export interface EncoderSpec {
  family: Family;
  /** _name_or_path when the config has one, else the folder's name. */
  name: string;
  layers: number;
  heads: number;
  hidden: number;
  inter_size: number;
  vocab: number;
  max_positions: number;
  /** Rows of the token type table (0: the family has none). */
  type_vocab: number;
  /** Position id of token s is s + position_offset (RoBERTa / XLM-R: padding_idx + 1). */
  position_offset: number;
  /** The padding id RoBERTa skips when numbering positions; null for the other families. */
  padding_id: number | null;
  activation: 'gelu_erf' | 'gelu_tanh';
  layer_norm_eps: number;
}

type Json = Record<string, unknown>;

function field(file: string, config: Json, name: string, fallback?: number): number {
  const value = config[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new CheckpointError(`${file}: ${name} must be a non-negative integer, got ${JSON.stringify(config[name])}`);
  }
  return value;
}

function activation(file: string, key: string, value: unknown): EncoderSpec['activation'] {
  const found = typeof value === 'string' ? ACTIVATIONS[value] : undefined;
  if (found === undefined) {
    throw new CheckpointError(`${file}: ${key} ${JSON.stringify(value)} is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
  }
  return found;
}

function readJson(file: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CheckpointError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CheckpointError(`${file}: not a JSON object`);
  return json as Json;
}

function distilbertSpec(file: string, c: Json): Omit<EncoderSpec, 'family' | 'name'> {
  return {
    layers: field(file, c, 'n_layers'), heads: field(file, c, 'n_heads'), hidden: field(file, c, 'dim'),
    inter_size: field(file, c, 'hidden_dim'), vocab: field(file, c, 'vocab_size'),
    max_positions: field(file, c, 'max_position_embeddings'), type_vocab: 0, position_offset: 0, padding_id: null,
    activation: activation(file, 'activation', c.activation ?? 'gelu'),
    // DistilBERT's LayerNorms are built with eps 1e-12 whatever the config says.
    layer_norm_eps: 1e-12,
  };
}

function bertSpec(file: string, family: Family, c: Json): Omit<EncoderSpec, 'family' | 'name'> {
  const positionType = c.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new CheckpointError(`${file}: position_embedding_type ${JSON.stringify(positionType)} is not supported (absolute)`);
  }
  if (c.is_decoder === true || c.add_cross_attention === true) throw new CheckpointError(`${file}: decoder models are not supported (encoder only)`);
  const eps = c.layer_norm_eps ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0 && eps < 1)) throw new CheckpointError(`${file}: layer_norm_eps must be in (0, 1), got ${JSON.stringify(eps)}`);
  const roberta = family !== 'bert';
  const paddingId = roberta ? field(file, c, 'pad_token_id', 1) : null;
  return {
    layers: field(file, c, 'num_hidden_layers'), heads: field(file, c, 'num_attention_heads'), hidden: field(file, c, 'hidden_size'),
    inter_size: field(file, c, 'intermediate_size'), vocab: field(file, c, 'vocab_size'),
    max_positions: field(file, c, 'max_position_embeddings'), type_vocab: field(file, c, 'type_vocab_size', 2),
    position_offset: paddingId === null ? 0 : paddingId + 1, padding_id: paddingId,
    activation: activation(file, 'hidden_act', c.hidden_act ?? 'gelu'), layer_norm_eps: eps,
  };
}

/** The encoder `dir`/config.json describes; refuses what the engine does not compute. */
export function readEncoderSpec(dir: string): EncoderSpec {
  const file = path.join(dir, 'config.json');
  const config = readJson(file);
  const family = config.model_type;
  if (typeof family !== 'string' || !(FAMILIES as readonly string[]).includes(family)) {
    throw new CheckpointError(`${file}: model_type ${JSON.stringify(family)} is not supported (${FAMILIES.join(', ')})`);
  }
  const dims = family === 'distilbert' ? distilbertSpec(file, config) : bertSpec(file, family as Family, config);
  if (dims.heads === 0 || dims.hidden % dims.heads !== 0) {
    throw new CheckpointError(`${file}: the hidden size ${dims.hidden} is not a multiple of the ${dims.heads} heads`);
  }
  const name = typeof config._name_or_path === 'string' && config._name_or_path !== '' ? config._name_or_path : path.basename(path.resolve(dir));
  return { family: family as Family, name, ...dims };
}
