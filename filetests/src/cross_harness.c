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
 *   "call <trampoline> <callee> <len>" + len raw bytes (the argument slots): calls
 *           trampoline(callee, buffer); answers "ok" + len raw bytes (the result slots),
 *           or "trap <signal> <pc> <fault address>" when the code faulted or trapped.
 *   end of input: exit.
 * The only target-specific piece is KILN_PC(uc), the program counter in a ucontext_t,
 * given by the build command. Traps are caught by signal handlers running on an alternate
 * stack (so stack overflow is caught too), which jump back to the command loop. */

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

#ifndef KILN_PC
#error "KILN_PC(uc) must be defined by the build command"
#endif

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
};

static sigjmp_buf landing;
static volatile sig_atomic_t in_call;
static volatile int trap_signal;
static volatile uintptr_t trap_pc, trap_addr;

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
                printf("trap %x %lx %lx\n", trap_signal, (unsigned long)trap_pc, (unsigned long)trap_addr);
            }
        } else {
            die("bad command");
        }
        fflush(stdout);
    }
    return 0;
}
