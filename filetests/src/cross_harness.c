/* The runner process of `cross_run.rs`: runs Kiln-compiled code for another architecture
 * under qemu-user. It is built once per target by that target's cross compiler (static,
 * not position-independent) and talks to the host over its standard input and output.
 *
 * Protocol (numbers in hexadecimal, lines end with '\n'):
 *   start:  argv[1] = bytes of code memory to map. The harness prints
 *           "kiln-harness 1 <region>", then "sym <name> <address>" for every routine it
 *           offers to compiled code, then "end".
 *   "load <len>" + len raw bytes: copy the linked image to the start of the region and
 *           make it executable; answers "ok".
 *   "sites <n>" + n lines "<return address> <frame offset> <default 0|1> <tag> <handler>":
 *           the exception handlers of the loaded code's `try_call` sites, sorted by return
 *           address (replacing earlier ones); answers "ok".
 *   "call <trampoline> <callee> <len>" + len raw bytes (the argument slots): calls
 *           trampoline(callee, buffer); answers "ok" + len raw bytes (the result slots),
 *           or "trap <signal> <pc> <fault address> <stack overflow 0|1>" when the code
 *           faulted or trapped.
 *   end of input: exit.
 * Target-specific pieces: KILN_PC(uc) and KILN_SP(uc), the program counter and stack
 * pointer in a ucontext_t, given by the build command, and kiln_resume (below, by
 * architecture). Traps are caught by signal handlers running on an alternate stack (so
 * stack overflow is caught too), which jump back to the command loop; a fault at an address
 * in the guard area below the stack, or with the stack pointer below the stack, is a stack
 * overflow. `__cranelift_throw` (exceptions thrown by test code) walks the frame-pointer
 * chain (saved frame pointer at [fp], return address at [fp + 8] on every target) to the
 * first call site with a matching handler and resumes there. */

#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <pthread.h>

#if !defined(KILN_PC) || !defined(KILN_SP)
#error "KILN_PC(uc) and KILN_SP(uc) must be defined by the build command"
#endif

/* Continue at `pc` with the stack and frame pointers `sp`/`fp` and the two exception
 * payload words in the payload registers of the target's calling convention (the
 * registers and the switching sequence by architecture). */
#if defined(__aarch64__)
#define R_P0 "x0"
#define R_P1 "x1"
#define R_SP "x2"
#define R_FP "x3"
#define R_PC "x16"
#define RESUME "mov sp, x2\n\tmov x29, x3\n\tbr x16"
#elif defined(__riscv) && __riscv_xlen == 64
#define R_P0 "a0"
#define R_P1 "a1"
#define R_SP "a2"
#define R_FP "a3"
#define R_PC "t0"
#define RESUME "mv sp, a2\n\tmv s0, a3\n\tjr t0"
#else
#error "no kiln_resume for this architecture"
#endif
__attribute__((noreturn)) static void kiln_resume(uintptr_t sp, uintptr_t fp, uintptr_t pc, uintptr_t p0, uintptr_t p1) {
    register uintptr_t r_p0 __asm__(R_P0) = p0;
    register uintptr_t r_p1 __asm__(R_P1) = p1;
    register uintptr_t r_sp __asm__(R_SP) = sp;
    register uintptr_t r_fp __asm__(R_FP) = fp;
    register uintptr_t r_pc __asm__(R_PC) = pc;
    __asm__ volatile(RESUME : : "r"(r_p0), "r"(r_p1), "r"(r_sp), "r"(r_fp), "r"(r_pc) : "memory");
    __builtin_unreachable();
}

static float ceil_f32(float x) { return ceilf(x); }
static double ceil_f64(double x) { return ceil(x); }
static float floor_f32(float x) { return floorf(x); }
static double floor_f64(double x) { return floor(x); }
static float trunc_f32(float x) { return truncf(x); }
static double trunc_f64(double x) { return trunc(x); }
/* Round to nearest, ties to even: the default rounding mode is never changed here. */
static float nearest_f32(float x) { return rintf(x); }
static double nearest_f64(double x) { return rint(x); }
static float fma_f32(float a, float b, float c) { return fmaf(a, b, c); }
static double fma_f64(double a, double b, double c) { return fma(a, b, c); }

/* The `try_call` sites of the loaded code (see "sites"), sorted by return address. */
struct site {
    uintptr_t ret;
    uintptr_t frame_offset;
    int is_default;
    uint32_t tag;
    uintptr_t handler;
};
static struct site *sites;
static size_t nsites;

/* `__cranelift_throw(entry_fp, exit_fp, exit_pc, tag, payload0, payload1)`: unwind from
 * the frame `exit_fp` up to (not beyond) `entry_fp` to the first call site whose handlers
 * catch `tag` (by tag, else a default handler) and resume there with the payload. An
 * exception nothing catches ends the runner (as it aborts a native test process). */
static void kiln_throw(uintptr_t entry_fp, uintptr_t exit_fp, uintptr_t exit_pc, uint32_t tag, uintptr_t p0,
                       uintptr_t p1) {
    (void)exit_pc;
    uintptr_t fp = exit_fp;
    for (long n = 0; n < 1000000 && fp; n++) {
        uintptr_t caller_fp = ((uintptr_t *)fp)[0], ret = ((uintptr_t *)fp)[1];
        size_t lo = 0, hi = nsites;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (sites[mid].ret < ret) lo = mid + 1;
            else hi = mid;
        }
        const struct site *by_tag = 0, *by_default = 0;
        for (size_t i = lo; i < nsites && sites[i].ret == ret; i++) {
            if (!sites[i].is_default && sites[i].tag == tag && !by_tag) by_tag = &sites[i];
            if (sites[i].is_default && !by_default) by_default = &sites[i];
        }
        const struct site *s = by_tag ? by_tag : by_default;
        if (s) kiln_resume(caller_fp - s->frame_offset, caller_fp, s->handler, p0, p1);
        if (fp == entry_fp || caller_fp <= fp) break;
        fp = caller_fp;
    }
    fprintf(stderr, "kiln-harness: uncaught exception (tag %u)\n", tag);
    abort();
}

/* The routines compiled code may call, by the names Kiln's relocations use. */
static const struct {
    const char *name;
    void *addr;
} SYMS[] = {
    {"CeilF32", (void *)ceil_f32},     {"CeilF64", (void *)ceil_f64},
    {"FloorF32", (void *)floor_f32},   {"FloorF64", (void *)floor_f64},
    {"TruncF32", (void *)trunc_f32},   {"TruncF64", (void *)trunc_f64},
    {"NearestF32", (void *)nearest_f32}, {"NearestF64", (void *)nearest_f64},
    {"FmaF32", (void *)fma_f32},       {"FmaF64", (void *)fma_f64},
    {"Memcpy", (void *)memcpy},        {"Memset", (void *)memset},
    {"Memmove", (void *)memmove},      {"Memcmp", (void *)memcmp},
    {"__cranelift_throw", (void *)kiln_throw},
};

static sigjmp_buf landing;
static volatile sig_atomic_t in_call;
static volatile int trap_signal;
static volatile uintptr_t trap_pc, trap_addr;
static volatile int trap_stack_overflow;
/* The lowest address of this thread's stack, and how far below it a fault still counts as
 * a stack overflow (a frame's first access lands at most its size below the stack, page by
 * page with stack probes; nothing else is mapped right below a stack). 0: unknown. */
static uintptr_t stack_lo;
#define GUARD_SPAN ((uintptr_t)1 << 20)

static void find_stack(void) {
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr)) return;
    if (!pthread_attr_getstack(&attr, &addr, &size)) stack_lo = (uintptr_t)addr;
    pthread_attr_destroy(&attr);
}

static void on_signal(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = (ucontext_t *)ctx;
    if (!in_call) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    in_call = 0;
    trap_signal = sig;
    trap_pc = (uintptr_t)(KILN_PC(uc));
    trap_addr = (uintptr_t)si->si_addr;
    uintptr_t sp = (uintptr_t)(KILN_SP(uc));
    trap_stack_overflow = (sig == SIGSEGV || sig == SIGBUS) && stack_lo &&
                          ((trap_addr < stack_lo && trap_addr >= stack_lo - GUARD_SPAN) || sp < stack_lo);
    siglongjmp(landing, 1);
}

static void die(const char *what) {
    fprintf(stderr, "kiln-harness: %s\n", what);
    exit(2);
}

static void read_exact(void *p, size_t n) {
    if (n && fread(p, 1, n, stdin) != n) die("short read");
}

int main(int argc, char **argv) {
    if (argc != 2) die("usage: harness <code bytes>");
    size_t region_len = strtoull(argv[1], 0, 16);
    long page = sysconf(_SC_PAGESIZE);
    region_len = (region_len + page - 1) / page * page;
    if (!region_len) region_len = page;
    /* Close to this program's code, so that direct calls reach it. */
    void *hint = (void *)(((uintptr_t)&main + (16u << 20)) & ~(uintptr_t)0xffff);
    unsigned char *region =
        mmap(hint, region_len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) die("mmap failed");

    find_stack();
    static char altstack[1 << 16];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    if (sigaltstack(&ss, 0)) die("sigaltstack failed");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, 0)) die("sigaction failed");

    printf("kiln-harness 1 %lx\n", (unsigned long)(uintptr_t)region);
    for (unsigned i = 0; i < sizeof SYMS / sizeof SYMS[0]; i++)
        printf("sym %s %lx\n", SYMS[i].name, (unsigned long)(uintptr_t)SYMS[i].addr);
    printf("end\n");
    fflush(stdout);

    static unsigned char buf[1 << 16];
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        unsigned long a, b, n;
        if (sscanf(line, "load %lx", &n) == 1) {
            if (n > region_len) die("image larger than the region");
            read_exact(region, n);
            __builtin___clear_cache((char *)region, (char *)region + n);
            printf("ok\n");
        } else if (sscanf(line, "sites %lx", &n) == 1) {
            free(sites);
            sites = calloc(n ? n : 1, sizeof *sites);
            if (!sites) die("out of memory");
            for (unsigned long i = 0; i < n; i++) {
                unsigned long ret, off, dflt, tag, h;
                if (!fgets(line, sizeof line, stdin) ||
                    sscanf(line, "%lx %lx %lx %lx %lx", &ret, &off, &dflt, &tag, &h) != 5)
                    die("bad site");
                sites[i] = (struct site){ret, off, (int)dflt, (uint32_t)tag, h};
            }
            nsites = n;
            printf("ok\n");
        } else if (sscanf(line, "call %lx %lx %lx", &a, &b, &n) == 3) {
            if (n > sizeof buf) die("argument buffer too large");
            read_exact(buf, n);
            void (*tramp)(uintptr_t, unsigned char *) = (void (*)(uintptr_t, unsigned char *))(uintptr_t)a;
            if (sigsetjmp(landing, 1) == 0) {
                in_call = 1;
                tramp((uintptr_t)b, buf);
                in_call = 0;
                printf("ok\n");
                fwrite(buf, 1, n, stdout);
            } else {
                printf("trap %x %lx %lx %x\n", trap_signal, (unsigned long)trap_pc, (unsigned long)trap_addr,
                       trap_stack_overflow);
            }
        } else {
            die("bad command");
        }
        fflush(stdout);
    }
    return 0;
}
