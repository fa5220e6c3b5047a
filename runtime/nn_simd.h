/*
 * NN_EXACT_CLONES: a function whose loops the compiler vectorizes is also
 * compiled for AVX2, and that version is chosen when the program loads on
 * a CPU that has it (GCC's target_clones, an ifunc). The project builds
 * for baseline x86-64 (SSE2) so that one binary runs anywhere. AVX2
 * without FMA rounds exactly as SSE2 does: the same bits on every
 * machine. (AVX-512 versions were no faster for the byte conversion and
 * 25 % slower for the image warp, measured on an AMD EPYC.) GCC on
 * x86-64 Linux only, and not under ASan; clang's fuzzing builds get the
 * baseline version.
 */
#ifndef NN_SIMD_H
#define NN_SIMD_H

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define NN_EXACT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NN_EXACT_CLONES
#endif

#endif
