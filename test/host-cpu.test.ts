// The CPU under a software adapter, as the tuner's key records it (src/gpu/host-cpu-node.ts).
import { describe, expect, it } from 'vitest';
import { hostCpu, simdFlags } from '../src/gpu/host-cpu-node.ts';

const X86 = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu vme de pse sse sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 avx512_vnni sha_ni
bugs\t\t: sysret_ss_attrs

processor\t: 1
flags\t\t: fpu sse sse2 avx avx2
`;
const ARM = `processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp sve sve2
CPU implementer\t: 0x41
`;

describe('hostCpu', () => {
  it('keeps the vector extensions of the first processor, sorted, and nothing else', () => {
    expect(simdFlags(X86)).toEqual(['avx', 'avx2', 'avx512_bf16', 'avx512_vnni', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512f', 'avx512vl', 'f16c', 'fma', 'sse4_1', 'sse4_2']);
    expect(simdFlags(ARM)).toEqual(['asimd', 'asimddp', 'asimdhp', 'asimdrdm', 'sve', 'sve2']);
    // Without AVX-512 the list differs, so a tuning made with it is not read without it.
    expect(simdFlags(X86.replace(/ avx512\w*/g, ''))).not.toEqual(simdFlags(X86));
    expect(simdFlags('no flags here')).toEqual([]);
  });

  it('names this machine: model, cores, and on Linux its SIMD extensions', () => {
    const host = hostCpu();
    expect(host).toMatch(/^.+; \d+ cores/);
    if (process.platform === 'linux') expect(host.split('; ')[2]).toMatch(/sse4_2|asimd/);
  });
});
