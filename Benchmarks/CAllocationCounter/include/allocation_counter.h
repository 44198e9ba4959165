#ifndef REWRAP_ALLOCATION_COUNTER_H
#define REWRAP_ALLOCATION_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

/// Counts allocation calls (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign)
/// while counting is on. The functions are defined in the executable, so they come first in
/// symbol lookup; each forwards to the next definition (jemalloc when preloaded, else glibc)
/// and changes nothing about the allocation itself.
void rewrap_allocation_counting(bool on);
void rewrap_allocation_reset(void);
int64_t rewrap_allocation_count(void);
/// Whether this process's allocations pass through the counter at all.
bool rewrap_allocation_counter_linked(void);

#endif
