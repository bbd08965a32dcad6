// Read-only accessors for TensorFlow Lite model files (FlatBuffers, file identifier "TFL3"),
// on the `flatbuffers` npm runtime: its ByteBuffer does the vtable lookups, offsets, vectors
// and strings; this file only names the fields. No npm package ships TFLite's compiled
// schema (@tensorflow/tfjs-tflite and @litertjs/core carry WASM runtimes, not the schema), so
// the tables below are written from TensorFlow's schema, tensorflow/lite/schema/schema.fbs
// (LiteRT: tflite/converter/schema/schema.fbs), the way `flatc --ts` would: a field's id is
// its position in its table, a union takes two ids (type, then value), and FlatBuffers puts
// field id n at vtable offset 4 + 2n. The schema only ever appends fields, so these ids hold
// for files from every TensorFlow version. Only what a converter of convolutional networks
// needs is here.
import { ByteBuffer } from 'flatbuffers';

/** schema.fbs `enum TensorType : byte` (the values used here). */
export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, INT16: 7, INT8: 9 } as const;
export const TENSOR_TYPE_NAMES: Record<number, string> = { 0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 5: 'string', 6: 'bool', 7: 'int16', 8: 'complex64', 9: 'int8' };

/** schema.fbs `enum BuiltinOperator` (the values a MobileNet uses, and its neighbours). */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  MUL: 18,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  PAD: 34,
  MEAN: 40,
  SUB: 41,
  SQUEEZE: 43,
  QUANTIZE: 114,
} as const;
export const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(BuiltinOperator).map(([k, v]) => [v, k]));

/** schema.fbs `enum Padding : byte { SAME, VALID }`. */
export const Padding = { SAME: 0, VALID: 1 } as const;
/** schema.fbs `enum ActivationFunctionType : byte`. */
export const ActivationFunctionType = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 } as const;

/** A table at `pos`: field lookups through its vtable (what flatc's generated classes do). */
class Table {
  constructor(
    protected bb: ByteBuffer,
    protected pos: number,
  ) {
    // A table and its vtable must lie inside the file (a truncated file points past its end).
    const size = bb.capacity();
    if (!(pos >= 0 && pos + 4 <= size)) throw new RangeError(`a table at byte ${pos} lies past the end of the ${size}-byte file`);
    const vt = pos - bb.readInt32(pos);
    if (!(vt >= 0 && vt + 4 <= size && vt + bb.readInt16(vt) <= size)) throw new RangeError(`the vtable of the table at byte ${pos} lies outside the ${size}-byte file`);
  }
  /** Offset of field `id` from the table start, 0 when absent. */
  protected field(id: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * id);
  }
  protected int8(id: number, dflt = 0): number {
    const o = this.field(id);
    return o ? this.bb.readInt8(this.pos + o) : dflt;
  }
  protected int32(id: number, dflt = 0): number {
    const o = this.field(id);
    return o ? this.bb.readInt32(this.pos + o) : dflt;
  }
  protected uint32(id: number, dflt = 0): number {
    const o = this.field(id);
    return o ? this.bb.readUint32(this.pos + o) : dflt;
  }
  protected uint64(id: number): bigint {
    const o = this.field(id);
    return o ? this.bb.readUint64(this.pos + o) : 0n;
  }
  protected str(id: number): string | null {
    const o = this.field(id);
    return o ? (this.bb.__string(this.pos + o) as string) : null;
  }
  protected table(id: number): number | null {
    const o = this.field(id);
    return o ? this.bb.__indirect(this.pos + o) : null;
  }
  protected vectorLength(id: number): number {
    const o = this.field(id);
    return o ? this.bb.__vector_len(this.pos + o) : 0;
  }
  /** Start (absolute byte position) of vector field `id`'s elements, checked to lie inside the file. */
  protected vectorStart(id: number, width = 4): number {
    const o = this.field(id);
    if (!o) return 0;
    const start = this.bb.__vector(this.pos + o);
    const end = start + this.bb.__vector_len(this.pos + o) * width;
    if (start < 0 || end > this.bb.capacity()) throw new RangeError(`a vector at byte ${start} runs to byte ${end}, past the end of the ${this.bb.capacity()}-byte file`);
    return start;
  }
  protected tables<T>(id: number, make: (bb: ByteBuffer, pos: number) => T): T[] {
    const n = this.vectorLength(id);
    const start = this.vectorStart(id);
    return Array.from({ length: n }, (_, i) => make(this.bb, this.bb.__indirect(start + 4 * i)));
  }
  protected int32s(id: number): number[] {
    const n = this.vectorLength(id);
    const start = this.vectorStart(id);
    return Array.from({ length: n }, (_, i) => this.bb.readInt32(start + 4 * i));
  }
  protected float32s(id: number): number[] {
    const n = this.vectorLength(id);
    const start = this.vectorStart(id);
    return Array.from({ length: n }, (_, i) => this.bb.readFloat32(start + 4 * i));
  }
  protected int64s(id: number): number[] {
    const n = this.vectorLength(id);
    const start = this.vectorStart(id, 8);
    return Array.from({ length: n }, (_, i) => Number(this.bb.readInt64(start + 8 * i)));
  }
  protected bytes(id: number): Uint8Array | null {
    const o = this.field(id);
    if (!o) return null;
    const start = this.vectorStart(id, 1);
    return this.bb.bytes().subarray(start, start + this.bb.__vector_len(this.pos + o));
  }
}

/** `table QuantizationParameters { min, max, scale, zero_point, details (union: 4, 5), quantized_dimension }`. */
export class QuantizationParameters extends Table {
  min() { return this.float32s(0); }
  max() { return this.float32s(1); }
  scale() { return this.float32s(2); }
  zeroPoint() { return this.int64s(3); }
  detailsType() { return this.int8(4); }
  quantizedDimension() { return this.int32(6); }
}

/** `table Tensor { shape, type, buffer, name, quantization, is_variable, sparsity, shape_signature, ... }`. */
export class Tensor extends Table {
  shape() { return this.int32s(0); }
  type() { return this.int8(1); }
  buffer() { return this.uint32(2); }
  name() { return this.str(3) ?? ''; }
  quantization(): QuantizationParameters | null {
    const t = this.table(4);
    return t === null ? null : new QuantizationParameters(this.bb, t);
  }
  /** Field 6: sparsity parameters; a sparse tensor is not read here. */
  isSparse() { return this.field(6) !== 0; }
}

/** `table Conv2DOptions { padding, stride_w, stride_h, fused_activation_function, dilation_w_factor = 1, dilation_h_factor = 1 }`. */
export class Conv2DOptions extends Table {
  padding() { return this.int8(0); }
  strideW() { return this.int32(1); }
  strideH() { return this.int32(2); }
  activation() { return this.int8(3); }
  dilationW() { return this.int32(4, 1); }
  dilationH() { return this.int32(5, 1); }
}

/** `table DepthwiseConv2DOptions { padding, stride_w, stride_h, depth_multiplier, fused_activation_function, dilation_w_factor = 1, dilation_h_factor = 1 }`. */
export class DepthwiseConv2DOptions extends Table {
  padding() { return this.int8(0); }
  strideW() { return this.int32(1); }
  strideH() { return this.int32(2); }
  depthMultiplier() { return this.int32(3); }
  activation() { return this.int8(4); }
  dilationW() { return this.int32(5, 1); }
  dilationH() { return this.int32(6, 1); }
}

/** `table Pool2DOptions { padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function }`. */
export class Pool2DOptions extends Table {
  padding() { return this.int8(0); }
  strideW() { return this.int32(1); }
  strideH() { return this.int32(2); }
  filterWidth() { return this.int32(3); }
  filterHeight() { return this.int32(4); }
  activation() { return this.int8(5); }
}

/** `table AddOptions/MulOptions/SubOptions { fused_activation_function }`, `SoftmaxOptions { beta }`. */
export class ActivationOptions extends Table {
  activation() { return this.int8(0); }
}

/** `table Operator { opcode_index, inputs, outputs, builtin_options (union: 3, 4), custom_options, ... }`. */
export class Operator extends Table {
  opcodeIndex() { return this.uint32(0); }
  inputs() { return this.int32s(1); }
  outputs() { return this.int32s(2); }
  builtinOptionsType() { return this.int8(3) & 0xff; }
  /** The builtin options table read as `T` (the caller knows the op); null when absent. */
  options<T>(make: new (bb: ByteBuffer, pos: number) => T): T | null {
    const t = this.table(4);
    return t === null ? null : new make(this.bb, t);
  }
}

/** `table OperatorCode { deprecated_builtin_code: byte, custom_code, version = 1, builtin_code: int }`. */
export class OperatorCode extends Table {
  /** As TFLite's GetBuiltinCode: the larger of the old byte field and the newer int field. */
  builtinCode() { return Math.max(this.int8(0), this.int32(3)); }
  customCode() { return this.str(1); }
  version() { return this.int32(2, 1); }
}

/** `table SubGraph { tensors, inputs, outputs, operators, name }`. */
export class SubGraph extends Table {
  tensors() { return this.tables(0, (bb, p) => new Tensor(bb, p)); }
  inputs() { return this.int32s(1); }
  outputs() { return this.int32s(2); }
  operators() { return this.tables(3, (bb, p) => new Operator(bb, p)); }
  name() { return this.str(4) ?? ''; }
}

/** `table Buffer { data: [ubyte], offset: ulong, size: ulong }` (offset/size: data outside the flatbuffer, files over 2 GB). */
export class Buffer_ extends Table {
  data() { return this.bytes(0); }
  externalOffset() { return this.uint64(1); }
  externalSize() { return this.uint64(2); }
}

/** `table Model { version, operator_codes, subgraphs, description, buffers, metadata_buffer, metadata, signature_defs }`. */
export class Model extends Table {
  version() { return this.uint32(0); }
  operatorCodes() { return this.tables(1, (bb, p) => new OperatorCode(bb, p)); }
  subgraphs() { return this.tables(2, (bb, p) => new SubGraph(bb, p)); }
  description() { return this.str(3); }
  buffers() { return this.tables(4, (bb, p) => new Buffer_(bb, p)); }

  static fromBytes(bytes: Uint8Array): Model {
    const bb = new ByteBuffer(bytes);
    return new Model(bb, bb.readInt32(bb.position()) + bb.position());
  }
  /** The file identifier, bytes 4..8 ("TFL3"). */
  static identifier(bytes: Uint8Array): string {
    return bytes.length >= 8 ? String.fromCharCode(...bytes.subarray(4, 8)) : '';
  }
}
