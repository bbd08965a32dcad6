// Loops marked `// #unroll` are written out when a kernel's source is assembled
// (src/gpu/unroll.ts); the kernels' results are checked against unmarked portable kernels by
// test/tune.test.ts and test/parity.test.ts. Here: the text transformation itself, its
// refusals, and that the runner applies it to the backbone's kernels.
import { describe, expect, it } from 'vitest';
import { MAX_UNROLL, unrollLoops } from '../src/gpu/unroll.ts';
import { KernelRunner, SOURCE_ASSEMBLY_VERSION } from '../src/gpu/runner.ts';
import { shadersHash, tuningKey } from '../src/tune/key.ts';
import { loadShaders } from '../src/gpu/shaders-node.ts';

const loop = (bound: string, body = '    acc[t] += x[t];\n', name = 't') => `  // #unroll\n  for (var ${name} = 0u; ${name} < ${bound}; ${name}++) {\n${body}  }\n`;

describe('unrollLoops', () => {
  it('copies the body once per trip, each copy with its index as a constant', () => {
    const out = unrollLoops(`fn f() {\n${loop('TP')}}\n`, { TP: 3 }, 'k');
    expect(out).not.toMatch(/for \(var t/);
    expect(out).not.toContain('#unroll');
    expect(out.match(/const t = (\d)u;/g)).toEqual(['const t = 0u;', 'const t = 1u;', 'const t = 2u;']);
    expect(out.match(/acc\[t\] \+= x\[t\];/g)).toHaveLength(3);
    expect(out.trimEnd().endsWith('}')).toBe(true);
  });

  it('unrolls nested marked loops and leaves unmarked ones alone', () => {
    const inner = loop('SG', '      acc[t][g] += 1.0;\n', 'g').replace(/^/gm, '  ');
    const src = `fn f() {\n  for (var c = 0u; c < p.n; c++) {\n${loop('2u', inner)}  }\n}\n`;
    const out = unrollLoops(src, { SG: 4 }, 'k');
    expect(out).toContain('for (var c = 0u; c < p.n; c++) {');
    expect(out.match(/acc\[t\]\[g\] \+= 1\.0;/g)).toHaveLength(8);
    expect(out.match(/const g = 3u;/g)).toHaveLength(2);
    // Braces still balance.
    expect(out.split('{').length).toBe(out.split('}').length);
  });

  it('takes a literal bound and a module constant computed from the kernel constants', () => {
    const src = `const IN_COLS = (TC - 1u) * STRIDE + 3u;\nfn f() {\n${loop('IN_COLS')}${loop('9u', '    k += 1u;\n', 'k')}}\n`;
    const out = unrollLoops(src, { TC: 4, STRIDE: 2 }, 'k');
    expect(out.match(/const t = \d+u;/g)).toHaveLength(9);
    expect(out.match(/const k = \d+u;/g)).toHaveLength(9);
    const typed = unrollLoops(`const TG: u32 = TJ / SG; // per lane\nfn f() {\n${loop('TG')}}\n`, { TJ: 8, SG: 4 }, 'k');
    expect(typed.match(/const t = \d+u;/g)).toHaveLength(2);
  });

  it('returns a source without marks unchanged', () => {
    const src = 'fn f() {\n  for (var t = 0u; t < TP; t++) {\n  }\n}\n';
    expect(unrollLoops(src, { TP: 4 }, 'k')).toBe(src);
  });

  it('refuses, naming the shader, what it cannot unroll', () => {
    expect(() => unrollLoops(`fn f() {\n${loop('N')}}\n`, {}, 'mine')).toThrow(/shaders\/mine\.wgsl: the bound "N" of the loop "for \(var t = 0u; t < N; t\+\+\) \{" is neither a literal nor one of the kernel's constants/);
    expect(() => unrollLoops(`fn f() {\n${loop('TP', '    if (a) { break; }\n')}}\n`, { TP: 2 }, 'mine')).toThrow(/break or continue/);
    expect(() => unrollLoops('fn f() {\n  // #unroll\n  for (var t = 1u; t < 4u; t++) {\n  }\n}\n', {}, 'mine')).toThrow(/must read "for \(var i = 0u; i < N; i\+\+\) \{"/);
    expect(() => unrollLoops(`fn f() {\n${loop('TP')}}\n`, { TP: MAX_UNROLL + 1 }, 'mine')).toThrow(/unrolled 65 times/);
    expect(() => unrollLoops('fn f() {\n  // #unroll\n  for (var t = 0u; t < 2u; t++) {\n', {}, 'mine')).toThrow(/no closing brace/);
  });
});

describe('the runner', () => {
  it("writes out the marked loops of the backbone's CPU-adapter kernels, with the kernel's own constants", () => {
    // No device is needed to assemble a source.
    const runner = new KernelRunner({} as GPUDevice, loadShaders());
    const pw = runner.source({ shader: 'pointwise_subgroup', constants: { WG: 8, TP: 4, SG: 8, ACT: 2, WH: 1 } });
    expect(pw).not.toMatch(/for \(var [tg] = 0u/);
    expect(pw).toContain('for (var c = 0u; c < p.ci4; c++) {');
    expect(pw.match(/const g = 7u;/g)?.length).toBeGreaterThan(0);
    for (const [shader, constants] of [
      ['depthwise3x3_rows', { WG: 8, TC: 4, STRIDE: 1, ACT: 2 }],
      ['conv3x3_subgroup', { WG: 4, TP: 2, SG: 4, STRIDE: 2, ACT: 2, WH: 1 }],
    ] as const) {
      const src = runner.source({ shader, constants });
      expect(src, shader).not.toContain('#unroll');
      expect(src, shader).toMatch(/const \w+ = 0u;/);
    }
  });
});

describe('saved tunings', () => {
  it('are filed under the way sources are assembled, not only the shader files', () => {
    const shaders = loadShaders();
    // The key a tuning is filed under (no GPU needed: an adapter and device as plain data).
    const adapter = { vendor: 'v', architecture: 'a', device: 'd', description: 'x', id: 'test', features: [], limits: {} };
    const device = { adapterInfo: {}, limits: { minUniformBufferOffsetAlignment: 256 } } as unknown as GPUDevice;
    const key = tuningKey(adapter, device, ['stem'], shaders, [8]);
    expect(key.shaders).toBe(shadersHash(shaders, SOURCE_ASSEMBLY_VERSION));
    // Another way of assembling the same files is another key; so is another file's text.
    expect(key.shaders).not.toBe(shadersHash(shaders, SOURCE_ASSEMBLY_VERSION - 1));
    expect(key.shaders).not.toBe(tuningKey(adapter, device, ['stem'], { ...shaders, conv3x3: `${shaders.conv3x3}\n` }, [8]).shaders);
  });
});
