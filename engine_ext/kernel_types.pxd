# Types shared by the transition kernel (kernel.pyx) and any Cython code that calls it.
from libc.stdint cimport int32_t, int64_t, uint8_t

cdef enum Status:
    ADVANCED = 0
    REACHED_LEAF = 1
    LABEL_NOT_OFFERED = 2
    INVALID_ID = 3

cdef enum Failure:
    BAD_TABLES = -1
    BAD_BATCH = -2
    CORRUPT_TABLES = -3

cdef struct Batch:
    # The packed tables (see relentless.core.registry.PackedTables) ...
    const int32_t* next_flat
    Py_ssize_t next_len
    const int64_t* next_offset
    const int32_t* node_count
    const int32_t* label_count
    const uint8_t* leaf_flat
    Py_ssize_t leaf_len
    const int64_t* node_offset
    Py_ssize_t definition_count
    # ... and one batch of rows with its preallocated outputs.
    const int32_t* def_ids
    const int32_t* nodes
    const int32_t* labels
    int32_t* out_next
    uint8_t* out_status
    Py_ssize_t rows


# One definition's transition table, as the kernel indexes it: where ``label`` leads
# from ``node``, and the kernel's status for that move. Callers have checked that node
# and label are inside the table; a negative label is one the definition cannot route.
cdef inline uint8_t follow(const int32_t* table, const uint8_t* leaf, int32_t width,
                           int32_t node, int32_t label, int32_t* target) noexcept nogil:
    cdef int32_t next_node
    if label < 0:
        target[0] = -1
        return LABEL_NOT_OFFERED
    next_node = table[<int64_t>node * width + label]
    target[0] = next_node
    if next_node < 0:
        return LABEL_NOT_OFFERED
    return REACHED_LEAF if leaf[next_node] else ADVANCED
