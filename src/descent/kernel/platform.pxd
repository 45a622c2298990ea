# The platform layer: what the kernels need from the compiler, the CPU and
# OpenMP, each behind one name. Nothing here knows about models or data.

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    /* The empty volatile asm is a side effect: without it GCC finds the
       helper that prefetches a row "const" (a prefetch has no effect on the
       program's state) and deletes every call to it (measured: shuffled
       per-sample SGD at 1M x 10 went from 124 to 39 ns/sample with it). */
    #define DESCENT_PREFETCH(p) \
        do { __builtin_prefetch((p), 0, 3); __asm__ __volatile__(""); } while (0)
    /* The same into L2 (locality 2: prefetcht1 on x86), for lines wanted
       later than the next few rows (rows.prefetch_span's to_l2). */
    #define DESCENT_PREFETCH_L2(p) \
        do { __builtin_prefetch((p), 0, 2); __asm__ __volatile__(""); } while (0)
    #else
    #define DESCENT_PREFETCH(p) ((void)0)
    #define DESCENT_PREFETCH_L2(p) ((void)0)
    #endif
    /* Inlined whatever the compiler's heuristics say: for a helper whose
       call would stop a loop over the targets from vectorising
       (elementary.exp_nonpositive). */
    #if defined(__GNUC__) || defined(__clang__)
    #define DESCENT_ALWAYS_INLINE inline __attribute__((always_inline))
    #elif defined(_MSC_VER)
    #define DESCENT_ALWAYS_INLINE __forceinline
    #else
    #define DESCENT_ALWAYS_INLINE inline
    #endif
    #ifdef _OPENMP
    #include <omp.h>
    #define DESCENT_HAVE_OPENMP 1
    /* The processors the process may run on, not omp_get_max_threads():
       that is a setting other libraries in the process change (a torch or
       threadpoolctl call of omp_set_num_threads(1) on the shared libgomp made
       n_jobs=2 fits silently serial); the loops set their thread counts
       themselves (num_threads). */
    #define DESCENT_MAX_THREADS() omp_get_num_procs()
    #else
    #define DESCENT_HAVE_OPENMP 0
    #define DESCENT_MAX_THREADS() 1
    #endif
    #include <stdint.h>
    #include <stdlib.h>
    #include <string.h>
    /* Eight doubles as one value, for loops that keep two targets' partial
       sums side by side (vectors.dot2, vectors.axpy_sqnorm2). Written over
       arrays of sums, GCC 12's loop vectoriser turned those loops into
       transpositions of the row's blocks (vpermt2pd; the 10-class dense
       fits of loop_plain.add_dense_targets 2.2x slower than one target at
       a time); a vector value is one AVX-512, two AVX2 or four SSE2/NEON
       registers (float32 rows widened as they load). Each lane's arithmetic
       is the scalar code's (elementwise IEEE, no contraction on x86-64:
       CMakeLists.txt), so the results are the same bits. Other compilers:
       a struct of eight and loops. */
    #if defined(__GNUC__) || defined(__clang__)
    typedef double descent_v8d __attribute__((vector_size(64)));
    static DESCENT_ALWAYS_INLINE descent_v8d descent_v8d_load(const double* p) {
        descent_v8d v; memcpy(&v, p, sizeof v); return v; }
    static DESCENT_ALWAYS_INLINE void descent_v8d_store(double* p, descent_v8d v) {
        memcpy(p, &v, sizeof v); }
    typedef float descent_v8f __attribute__((vector_size(32)));
    static DESCENT_ALWAYS_INLINE descent_v8d descent_v8d_load_f32(const float* p) {
        descent_v8f v; memcpy(&v, p, sizeof v); return __builtin_convertvector(v, descent_v8d); }
    #define descent_v8d_zero() ((descent_v8d){0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0})
    #define descent_v8d_set1(a) ((descent_v8d){a, a, a, a, a, a, a, a})
    #define descent_v8d_add(a, b) ((a) + (b))
    #define descent_v8d_mul(a, b) ((a) * (b))
    #else
    typedef struct { double v[8]; } descent_v8d;
    static DESCENT_ALWAYS_INLINE descent_v8d descent_v8d_load(const double* p) {
        descent_v8d r; memcpy(r.v, p, sizeof r.v); return r; }
    static DESCENT_ALWAYS_INLINE void descent_v8d_store(double* p, descent_v8d v) {
        memcpy(p, v.v, sizeof v.v); }
    static DESCENT_ALWAYS_INLINE descent_v8d descent_v8d_load_f32(const float* p) {
        descent_v8d r; int m; for (m = 0; m < 8; m++) r.v[m] = (double)p[m]; return r; }
    static DESCENT_ALWAYS_INLINE descent_v8d descent_v8d_set1(double a) {
        descent_v8d r; int m; for (m = 0; m < 8; m++) r.v[m] = a; return r; }
    static DESCENT_ALWAYS_INLINE descent_v8d descent_v8d_zero(void) {
        return descent_v8d_set1(0.0); }
    static DESCENT_ALWAYS_INLINE descent_v8d descent_v8d_add(descent_v8d a, descent_v8d b) {
        int m; for (m = 0; m < 8; m++) a.v[m] += b.v[m]; return a; }
    static DESCENT_ALWAYS_INLINE descent_v8d descent_v8d_mul(descent_v8d a, descent_v8d b) {
        int m; for (m = 0; m < 8; m++) a.v[m] *= b.v[m]; return a; }
    #endif
    /* calloc for a buffer the epochs read at random (the model stored
       feature-major, kernel/feature_major.pxd): from 4 MiB on Linux, aligned
       to 2 MiB and advised to transparent huge pages, as NumPy does its
       arrays from that size (where THP is "madvise", the common default, a
       calloc block stays on 4 KiB pages: a 19 MB model of 20 classes of
       100,000 features then misses the TLB on most features a row reads:
       per-sample one-vs-rest epochs on 200,000 x 100,000 CSR rows of 50
       non-zeros were 4 % slower than on huge pages, medians of 7 and of 5
       interleaved pairs, the 2-vCPU AMD EPYC VM). Freed with free(). */
    #if defined(__linux__)
    #include <sys/mman.h>
    static void* descent_calloc_large(size_t count, size_t size) {
        void* p = NULL;
        size_t bytes = count * size;
        if (size != 0 && bytes / size != count) return NULL;
        if (bytes < ((size_t)4 << 20)) return calloc(count, size);
        if (posix_memalign(&p, (size_t)2 << 20, bytes) != 0) return NULL;
        madvise(p, bytes, MADV_HUGEPAGE);   /* (advice: no error to act on) */
        memset(p, 0, bytes);
        return p;
    }
    #else
    static void* descent_calloc_large(size_t count, size_t size) {
        return calloc(count, size); }
    #endif
    /* The first 64-byte (cache-line) boundary in a block from malloc. */
    static double* descent_align64(void* raw) {
        return (double*)(((uintptr_t)raw + 63) & ~(uintptr_t)63); }

    /* The Debug build (CMake) checks every row and coordinate index the hot
       loops follow through raw pointers, where Cython's boundscheck cannot
       see, and aborts loudly on the first one out of range. */
    #if defined(DESCENT_DEBUG) && DESCENT_DEBUG
    #include <stdio.h>
    #include <stdlib.h>
    static void descent_check_failed(const char* cond, const char* file, int line) {
        fprintf(stderr, "descent: kernel index check failed: %s (%s:%d)%c",
                cond, file, line, 10);
        abort(); }
    #define DESCENT_CHECK(cond) \
        do { if (!(cond)) descent_check_failed(#cond, __FILE__, __LINE__); } while (0)
    #else
    #define DESCENT_CHECK(cond) ((void)0)
    #endif
    /* Flush denormals to zero (FTZ + DAZ) while an epoch runs. A decaying
       state (Adam's beta ** t, a momentum buffer fed zero gradients) otherwise
       settles on the smallest denormal, 0.9 * 5e-324 rounding back to 5e-324,
       and every multiply by it takes a ~100-cycle microcode assist: measured
       4x slower per-sample Adam. Values below 2.2e-308 are noise here. */
    #if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64)
    #include <xmmintrin.h>
    static unsigned long long descent_flush_denormals(void) {
        unsigned int old = _mm_getcsr(); _mm_setcsr(old | 0x8040u); return old; }
    static void descent_restore_fp(unsigned long long old) { _mm_setcsr((unsigned int)old); }
    #elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    static unsigned long long descent_flush_denormals(void) {
        unsigned long long old; __asm__ __volatile__("mrs %0, fpcr" : "=r"(old));
        __asm__ __volatile__("msr fpcr, %0" : : "r"(old | (1ULL << 24))); return old; }
    static void descent_restore_fp(unsigned long long old) {
        __asm__ __volatile__("msr fpcr, %0" : : "r"(old)); }
    #else
    static unsigned long long descent_flush_denormals(void) { return 0; }
    static void descent_restore_fp(unsigned long long old) { (void)old; }
    #endif
    /* Run-time CPU dispatch (descent/_simd.py): the variant this copy of the
       module was compiled for (CMake), and whether the CPU and the OS run a
       variant: 0 the baseline, 1 AVX2 with FMA, 2 AVX-512 F, DQ and VL (and
       AVX2, FMA). By CPUID and XGETBV (the OS saves the YMM, and opmask and
       ZMM, registers), with no run-time library (__builtin_cpu_supports
       needs libgcc's or compiler-rt's __cpu_model). */
    #ifndef DESCENT_SIMD
    #define DESCENT_SIMD "baseline"
    #endif
    #if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    #include <cpuid.h>
    static int descent_cpu_runs(int level) {
        unsigned int a, b, c, d, xcr0, xcr0_hi;
        int avx2;
        if (level <= 0) return 1;
        if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
        /* OSXSAVE (27), AVX (28), FMA (12) */
        if ((c & (1u << 27 | 1u << 28 | 1u << 12)) != (1u << 27 | 1u << 28 | 1u << 12))
            return 0;
        __asm__ __volatile__("xgetbv" : "=a"(xcr0), "=d"(xcr0_hi) : "c"(0));
        if ((xcr0 & 0x6u) != 0x6u) return 0;              /* XMM and YMM state */
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
        avx2 = (b >> 5) & 1u;
        if (level == 1) return avx2;
        /* AVX-512 F (16), DQ (17), VL (31); opmask and ZMM state (XCR0 5-7) */
        return avx2 && (b >> 16 & 1u) && (b >> 17 & 1u) && (b >> 31 & 1u)
            && (xcr0 & 0xE0u) == 0xE0u; }
    #else
    static int descent_cpu_runs(int level) { return level <= 0; }
    #endif
    """
    ctypedef struct descent_v8d:
        pass
    descent_v8d descent_v8d_load(const double* p) nogil
    descent_v8d descent_v8d_load_f32(const float* p) nogil
    void descent_v8d_store(double* p, descent_v8d v) nogil
    descent_v8d descent_v8d_zero() nogil
    descent_v8d descent_v8d_set1(double a) nogil
    descent_v8d descent_v8d_add(descent_v8d a, descent_v8d b) nogil
    descent_v8d descent_v8d_mul(descent_v8d a, descent_v8d b) nogil
    void DESCENT_PREFETCH(const void* p) nogil
    void DESCENT_PREFETCH_L2(const void* p) nogil
    int DESCENT_HAVE_OPENMP
    int DESCENT_MAX_THREADS() nogil
    double* descent_align64(void* raw) nogil
    void* descent_calloc_large(size_t count, size_t size) nogil
    void DESCENT_CHECK(bint cond) nogil
    unsigned long long descent_flush_denormals() nogil
    void descent_restore_fp(unsigned long long old) nogil
    const char* DESCENT_BUILD_TYPE
    const char* DESCENT_SIMD
    int descent_cpu_runs(int level) nogil
