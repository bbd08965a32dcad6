// The CPU under a software adapter, for the tuner's key. lavapipe's name carries its vector
// width ("256 bits") but not the CPU, and the CPU decides which kernels win: two hosts here
// that both report "AMD EPYC" and "256 bits" ran their pointwise layers fastest at 4 pixels per
// lane on one and at 2 on the other (bench/README.md, "A fifth look"). A tuning made on one
// must not be read on the other, so the model, the cores and the SIMD extensions go into the
// key.
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

/** The flags that change how a shader compiled for the CPU runs: vector extensions (x86, Arm). */
const SIMD = /^(sse4_1|sse4_2|avx|avx2|fma|f16c|avx512\w*|avx_vnni|amx\w*|asimd\w*|sve\w*|sme\w*)$/;

/** "model; N cores; simd flags" (the flags where /proc/cpuinfo lists them, i.e. on Linux). */
export function hostCpu(): string {
  const model = cpus()[0]?.model.trim() || 'unknown CPU';
  let flags: string[] = [];
  try {
    flags = simdFlags(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    // Not Linux: the model names the CPU well enough (Apple M-series, Windows' full names).
  }
  return [model, `${availableParallelism()} cores`, ...(flags.length ? [flags.join(' ')] : [])].join('; ');
}

/** The SIMD flags of the first processor in a /proc/cpuinfo text (x86 "flags", Arm "Features"), sorted. */
export function simdFlags(cpuinfo: string): string[] {
  const line = cpuinfo.match(/^(?:flags|Features)\s*:(.*)$/m)?.[1] ?? '';
  return [...new Set(line.trim().split(/\s+/).filter((f) => SIMD.test(f)))].sort();
}
