// The bindings every backbone layer kernel (stem, depthwise, pointwise; portable and
// subgroup) shares: its Params at 0, input activations x at 1 ([pixels, channels / 4] vec4),
// bias b at 3, output y at 4, and the fused activation. Each kernel declares its own
// `struct Params` and its weights w at binding 2, whose element type differs (mat4x4<f32>,
// vec4<f32>, or float16 pairs packed as vec4<u32>).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;

// #include activation
