# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The transition kernel: one pass over a batch of (definition, node, label) rows.

Only ``relentless.core.kernel`` imports this module. It answers with status codes and
negative failure codes; the Python side turns those into exceptions.
"""

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from kernel_types cimport (
    ADVANCED,
    BAD_BATCH,
    BAD_TABLES,
    CORRUPT_TABLES,
    INVALID_ID,
    LABEL_NOT_OFFERED,
    REACHED_LEAF,
    Batch,
)

cnp.import_array()

# Release the GIL only for batches where the loop outweighs the cost of releasing it.
cdef enum:
    NOGIL_MIN_ROWS = 2048


cdef inline bint _vector(cnp.ndarray array, int typenum, Py_ssize_t length) noexcept:
    """True if ``array`` is a C-contiguous 1-d array of ``typenum`` (and ``length`` if >= 0)."""
    return (
        cnp.PyArray_NDIM(array) == 1
        and cnp.PyArray_TYPE(array) == typenum
        and cnp.PyArray_IS_C_CONTIGUOUS(array)
        and (length < 0 or cnp.PyArray_DIM(array, 0) == length)
    )


cdef Py_ssize_t advance_rows(const Batch* batch) noexcept nogil:
    """Fused lookup, validation and leaf flag per row; the number of rows that moved."""
    cdef Py_ssize_t row, moved = 0
    cdef int32_t definition, node, label, target, width
    cdef int64_t cell, leaf_cell
    # Locals, so that the C compiler keeps them in registers across the loop.
    cdef const int32_t* next_flat = batch.next_flat
    cdef const int64_t* next_offset = batch.next_offset
    cdef const int32_t* node_count = batch.node_count
    cdef const int32_t* label_count = batch.label_count
    cdef const uint8_t* leaf_flat = batch.leaf_flat
    cdef const int64_t* node_offset = batch.node_offset
    cdef const int32_t* def_ids = batch.def_ids
    cdef const int32_t* nodes = batch.nodes
    cdef const int32_t* labels = batch.labels
    cdef int32_t* out_next = batch.out_next
    cdef uint8_t* out_status = batch.out_status
    cdef Py_ssize_t next_len = batch.next_len, leaf_len = batch.leaf_len
    cdef Py_ssize_t definition_count = batch.definition_count
    for row in range(batch.rows):
        definition = def_ids[row]
        node = nodes[row]
        label = labels[row]
        # Unsigned comparisons reject negatives and values past the end in one test.
        if <size_t>definition >= <size_t>definition_count:
            out_next[row] = -1
            out_status[row] = INVALID_ID
            continue
        width = label_count[definition]
        if <uint32_t>node >= <uint32_t>node_count[definition] or <uint32_t>label >= <uint32_t>width:
            out_next[row] = -1
            out_status[row] = INVALID_ID
            continue
        cell = next_offset[definition] + <int64_t>node * width + label
        if <uint64_t>cell >= <uint64_t>next_len:
            return CORRUPT_TABLES
        target = next_flat[cell]
        out_next[row] = target
        if target < 0:
            out_status[row] = LABEL_NOT_OFFERED
            continue
        leaf_cell = node_offset[definition] + target
        if <uint64_t>leaf_cell >= <uint64_t>leaf_len:
            return CORRUPT_TABLES
        out_status[row] = REACHED_LEAF if leaf_flat[leaf_cell] else ADVANCED
        moved += 1
    return moved


def advance(
    object tables,
    cnp.ndarray def_ids not None,
    cnp.ndarray nodes not None,
    cnp.ndarray labels not None,
    cnp.ndarray out_next not None,
    cnp.ndarray out_status not None,
):
    """Advance every row of the batch; the count of rows that moved, or a failure code < 0."""
    cdef cnp.ndarray next_flat = tables.next_flat
    cdef cnp.ndarray next_offset = tables.next_offset
    cdef cnp.ndarray node_count = tables.node_count
    cdef cnp.ndarray label_count = tables.label_count
    cdef cnp.ndarray leaf_flat = tables.leaf_flat
    cdef cnp.ndarray node_offset = tables.node_offset
    cdef Py_ssize_t definitions = cnp.PyArray_DIM(node_count, 0) if cnp.PyArray_NDIM(node_count) == 1 else -1
    if not (
        definitions >= 0
        and _vector(next_flat, cnp.NPY_INT32, -1)
        and _vector(next_offset, cnp.NPY_INT64, definitions)
        and _vector(node_count, cnp.NPY_INT32, definitions)
        and _vector(label_count, cnp.NPY_INT32, definitions)
        and _vector(leaf_flat, cnp.NPY_UINT8, -1)
        and _vector(node_offset, cnp.NPY_INT64, definitions)
    ):
        return BAD_TABLES
    cdef Py_ssize_t rows = cnp.PyArray_DIM(def_ids, 0) if cnp.PyArray_NDIM(def_ids) == 1 else -1
    if not (
        rows >= 0
        and _vector(def_ids, cnp.NPY_INT32, rows)
        and _vector(nodes, cnp.NPY_INT32, rows)
        and _vector(labels, cnp.NPY_INT32, rows)
        and _vector(out_next, cnp.NPY_INT32, rows)
        and _vector(out_status, cnp.NPY_UINT8, rows)
        and cnp.PyArray_ISWRITEABLE(out_next)
        and cnp.PyArray_ISWRITEABLE(out_status)
    ):
        return BAD_BATCH
    cdef Batch batch = Batch(
        <const int32_t*>cnp.PyArray_DATA(next_flat), cnp.PyArray_DIM(next_flat, 0),
        <const int64_t*>cnp.PyArray_DATA(next_offset),
        <const int32_t*>cnp.PyArray_DATA(node_count),
        <const int32_t*>cnp.PyArray_DATA(label_count),
        <const uint8_t*>cnp.PyArray_DATA(leaf_flat), cnp.PyArray_DIM(leaf_flat, 0),
        <const int64_t*>cnp.PyArray_DATA(node_offset),
        definitions,
        <const int32_t*>cnp.PyArray_DATA(def_ids),
        <const int32_t*>cnp.PyArray_DATA(nodes),
        <const int32_t*>cnp.PyArray_DATA(labels),
        <int32_t*>cnp.PyArray_DATA(out_next),
        <uint8_t*>cnp.PyArray_DATA(out_status),
        rows,
    )
    cdef Py_ssize_t result
    if rows < NOGIL_MIN_ROWS:
        return advance_rows(&batch)
    with nogil:
        result = advance_rows(&batch)
    return result
