// Allocation counting for rewrap-bench: a malloc interposer with no header, no size tracking and
// nothing on the allocation itself, so the allocator measured is exactly the one in use.
#define _GNU_SOURCE
#include "allocation_counter.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*aligned_alloc_fn)(size_t, size_t);

static malloc_fn next_malloc;
static calloc_fn next_calloc;
static realloc_fn next_realloc;
static free_fn next_free;
static posix_memalign_fn next_posix_memalign;
static aligned_alloc_fn next_aligned_alloc;
static aligned_alloc_fn next_memalign;

static atomic_bool counting;
static atomic_llong count;
static atomic_bool seen;

// dlsym may allocate while the next functions are being looked up: those few requests are served
// from this buffer, and never freed.
static _Alignas(16) unsigned char bootstrap[8192];
static atomic_size_t bootstrap_used;
static _Thread_local int resolving;

static void *bootstrap_alloc(size_t size) {
    size_t rounded = (size + 15) & ~(size_t)15;
    size_t offset = atomic_fetch_add(&bootstrap_used, rounded);
    if (offset + rounded > sizeof(bootstrap)) return NULL;
    return bootstrap + offset;
}

static int from_bootstrap(const void *pointer) {
    return (const unsigned char *)pointer >= bootstrap && (const unsigned char *)pointer < bootstrap + sizeof(bootstrap);
}

static void resolve(void) {
    resolving = 1;
    next_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
    next_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
    next_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
    next_free = (free_fn)dlsym(RTLD_NEXT, "free");
    next_posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
    next_aligned_alloc = (aligned_alloc_fn)dlsym(RTLD_NEXT, "aligned_alloc");
    next_memalign = (aligned_alloc_fn)dlsym(RTLD_NEXT, "memalign");
    resolving = 0;
}

// Preloaded into another process (`rewrap-bench server` starts `rewrap serve` with
// LD_PRELOAD=libRewrapAllocationCounter.so): every allocation is counted, always, into the 8 bytes
// of the file REWRAP_ALLOCATION_COUNTER_FILE names, which the harness maps too and reads before
// and after a timed run. Set up before main; open and mmap do not allocate.
static _Atomic(long long) *shared_count;

__attribute__((constructor)) static void map_shared_counter(void) {
    const char *path = getenv("REWRAP_ALLOCATION_COUNTER_FILE");
    if (path == NULL) return;
    int descriptor = open(path, O_RDWR | O_CLOEXEC);
    if (descriptor < 0) return;
    void *mapped = mmap(NULL, sizeof(long long), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
    close(descriptor);
    if (mapped != MAP_FAILED) shared_count = mapped;
}

static inline void counted(void) {
    if (shared_count) {
        atomic_fetch_add_explicit(shared_count, 1, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&seen, 1, memory_order_relaxed);
    if (atomic_load_explicit(&counting, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    }
}

void *malloc(size_t size) {
    if (!next_malloc) {
        if (resolving) return bootstrap_alloc(size);
        resolve();
    }
    counted();
    return next_malloc(size);
}

void *calloc(size_t n, size_t size) {
    if (!next_calloc) {
        if (resolving) return bootstrap_alloc(n * size);  // zeroed: static storage, never reused
        resolve();
    }
    counted();
    return next_calloc(n, size);
}

void *realloc(void *pointer, size_t size) {
    if (!next_realloc) resolve();
    if (from_bootstrap(pointer)) {
        size_t available = (size_t)(bootstrap + sizeof(bootstrap) - (unsigned char *)pointer);
        void *moved = malloc(size);
        if (moved) memcpy(moved, pointer, size < available ? size : available);
        return moved;
    }
    counted();
    return next_realloc(pointer, size);
}

void free(void *pointer) {
    if (pointer == NULL || from_bootstrap(pointer)) return;
    if (!next_free) resolve();
    next_free(pointer);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (!next_posix_memalign) resolve();
    counted();
    return next_posix_memalign(out, alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    if (!next_aligned_alloc) resolve();
    counted();
    return next_aligned_alloc(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    if (!next_memalign) resolve();
    counted();
    return next_memalign(alignment, size);
}

void rewrap_allocation_counting(bool on) { atomic_store(&counting, on); }
void rewrap_allocation_reset(void) { atomic_store(&count, 0); }
int64_t rewrap_allocation_count(void) { return atomic_load(&count); }
bool rewrap_allocation_counter_linked(void) {
    // Through a volatile pointer, so the compiler cannot elide the pair.
    void *(*volatile allocate)(size_t) = malloc;
    free(allocate(1));
    return atomic_load(&seen);
}
