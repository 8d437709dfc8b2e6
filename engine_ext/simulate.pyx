# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The Monte Carlo loop: many runs of one definition under a scenario, the GIL released.

Only ``relentless.simulation.native`` imports this module. It reads the engine's packed
transition tables (through ``follow``, the kernel's rule, from kernel_types.pxd) and
the scenario's flat arrays (relentless.simulation.tables), checks every offset once,
then runs without checks. Each run draws from its own xoshiro256** stream seeded by
splitmix64 from (seed, run), so a chunk of runs gives the same answer on any thread.
The rules are those of relentless.simulation.rules; relentless.simulation.reference
is the NumPy twin, and both must return identical arrays.
"""

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free
from libc.math cimport ceil
from libc.string cimport memset
from libc.stdint cimport uint32_t

cdef extern from "stdlib.h" nogil:
    int posix_memalign(void** memptr, size_t alignment, size_t size)

from kernel_types cimport ADVANCED, BAD_BATCH, BAD_TABLES, CORRUPT_TABLES, LABEL_NOT_OFFERED
from kernel_types cimport follow

cnp.import_array()

cdef extern from *:
    """
    #define RELENTLESS_LIKELY(x) __builtin_expect(!!(x), 1)
    #define RELENTLESS_UNLIKELY(x) __builtin_expect(!!(x), 0)
    """
    bint likely "RELENTLESS_LIKELY" (bint) noexcept nogil
    bint unlikely "RELENTLESS_UNLIKELY" (bint) noexcept nogil

cdef int64_t NEVER = 4611686018427387904  # 2**62, relentless.simulation.rules.NEVER_MS
cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL


cdef struct Model:
    const int32_t* next
    const uint8_t* leaf
    int32_t width
    int32_t start
    int32_t failed_label
    const int64_t* timeout
    const int32_t* attempts
    const int64_t* deadline
    const int64_t* backoff_offset
    const int32_t* backoff_count
    const int64_t* backoff
    const double* permanent_below
    const double* fail_below
    const double* lost_below
    const double* jitter
    const int64_t* label_offset
    const int32_t* label_count
    const double* label_start
    const int32_t* label_id
    const int64_t* duration_offset
    const int32_t* duration_count
    const double* duration_start
    const double* duration_value
    const double* duration_slope


cdef struct Outputs:
    # The chunk's slices of the per-run outputs (per-node sums go to Packed.totals).
    int32_t* end_node
    uint8_t* status
    int64_t* time
    int32_t* steps


cdef struct Step:
    # One node's settings as the attempt loop reads them: one 64-byte line per node.
    int64_t timeout
    int64_t deadline
    uint64_t completes_from   # an outcome word's top 32 bits from here on complete
    const uint32_t* label_cells
    const uint32_t* duration_cells
    const int32_t* next_row   # the node's row of the engine's transition table
    int32_t attempts
    uint8_t label_shift       # a 32-bit draw >> label_shift is its label cell
    uint8_t duration_shift    # a 64-bit draw >> duration_shift is its duration cell
    int64_t unused            # to 64 bytes: Steps start on lines (the block is aligned)


cdef struct Retry:
    # What only a failed or expired attempt reads, kept out of the hot line.
    double permanent_below
    double jitter
    int32_t backoff_first     # index of delay(1) in the backoff table
    int32_t backoff_last      # index of the last delay tabulated for the node
    int32_t label_last        # index of the node's last label segment (for a scan)
    int32_t duration_last
    double fail_below
    double lost_below


cdef struct DurationSegment:
    double start
    double value
    double slope
    double unused


cdef struct LabelSegment:
    double start
    int32_t label
    int32_t unused


cdef struct Totals:
    # One node's sums in one thread, 32 bytes, in a block of the thread's own.
    int64_t time
    int64_t visits
    int64_t attempts
    int64_t unused


cdef struct Packed:
    # What run_chunk reads, built per call from a checked Model; every block is owned
    # by one call (one thread), starts on a cache line and is freed by release().
    const int32_t* next
    const uint8_t* leaf
    int32_t width
    int32_t start
    int32_t failed_label
    Step* steps
    Retry* retries
    const int64_t* backoff
    uint32_t* cells
    DurationSegment* durations
    LabelSegment* labels
    Totals* totals


cdef int32_t MAX_CELL_BITS = 10
# A node's segments get 2**bits cells, at least 8 per segment (at most 1,024 in all):
# u lands in cell floor(u * 2**bits), which is exact, and the cell names the segment
# holding its left edge. Only a cell with another segment starting inside it needs a
# scan, and with 8 cells per segment few do, so the loop's branches stay predictable.


cdef void* _aligned(size_t size) noexcept nogil:
    """``size`` bytes on a 64-byte boundary (freed with free()), or NULL."""
    cdef void* block = NULL
    if posix_memalign(&block, 64, max(size, <size_t>64)) != 0:
        return NULL
    return block


cdef inline uint64_t rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t splitmix(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef int32_t _cell_bits(int32_t count) noexcept nogil:
    cdef int32_t bits = 1
    if count <= 1:
        return 1
    while (1 << bits) < 8 * count and bits < MAX_CELL_BITS:
        bits += 1
    return bits


cdef Py_ssize_t _fill_cells(uint32_t* cells, const double* starts, const int32_t* ids,
                            int64_t low, int32_t count, int32_t bits) noexcept nogil:
    """The 2**bits cells of one node's segments [low, low + count); how many.

    Cell k is ``segment << 1`` for the last segment starting at or before k / 2**bits,
    with bit 0 set if another segment starts before (k + 1) / 2**bits. For labels
    (``ids`` given) a cell without a scan holds the label itself instead of the segment.
    """
    cdef int64_t size = (<int64_t>1) << bits, k, j = low, last = low + count - 1
    cdef double left, right
    for k in range(size):
        left = (<double>k) / size
        right = (<double>(k + 1)) / size
        while j < last and starts[j + 1] <= left:
            j += 1
        if j < last and starts[j + 1] < right:
            cells[k] = (<uint32_t>j << 1) | 1
        else:
            cells[k] = <uint32_t>(ids[j] if ids != NULL else j) << 1
    return size


cdef int _pack(const Model* m, Packed* p, Py_ssize_t nodes, Py_ssize_t backoffs,
               Py_ssize_t labels, Py_ssize_t durations):
    """Fill ``p`` from the checked ``m``; 0, or -1 if out of memory (p is then released)."""
    cdef Py_ssize_t n, j, cell_count = 0
    cdef Step* step
    p.next = m.next
    p.leaf = m.leaf
    p.width = m.width
    p.start = m.start
    p.failed_label = m.failed_label
    p.backoff = m.backoff
    for n in range(nodes):
        cell_count += (1 << _cell_bits(m.label_count[n])) + (1 << _cell_bits(m.duration_count[n]))
    p.steps = <Step*>_aligned(nodes * sizeof(Step))
    p.retries = <Retry*>_aligned(nodes * sizeof(Retry))
    p.cells = <uint32_t*>_aligned(cell_count * sizeof(uint32_t))
    p.durations = <DurationSegment*>_aligned(durations * sizeof(DurationSegment))
    p.labels = <LabelSegment*>_aligned(labels * sizeof(LabelSegment))
    p.totals = <Totals*>_aligned(nodes * sizeof(Totals))
    if not (p.steps and p.retries and p.cells and p.durations and p.labels and p.totals):
        _release(p)
        return -1
    memset(p.totals, 0, nodes * sizeof(Totals))
    memset(p.cells, 0, cell_count * sizeof(uint32_t))
    for j in range(durations):
        p.durations[j].start = m.duration_start[j]
        p.durations[j].value = m.duration_value[j]
        p.durations[j].slope = m.duration_slope[j]
    for j in range(labels):
        p.labels[j].start = m.label_start[j]
        p.labels[j].label = m.label_id[j]
    cell_count = 0
    for n in range(nodes):
        step = &p.steps[n]
        step.timeout = m.timeout[n]
        step.deadline = m.deadline[n]
        # u = k * 2**-32 (k the top 32 bits) is >= lost_below exactly when k >= this:
        # scaling by a power of two is exact, so the test is the same, in integers.
        step.completes_from = <uint64_t>ceil(m.lost_below[n] * 4294967296.0)
        p.retries[n].fail_below = m.fail_below[n]
        p.retries[n].lost_below = m.lost_below[n]
        step.attempts = m.attempts[n]
        p.retries[n].permanent_below = m.permanent_below[n]
        p.retries[n].jitter = m.jitter[n]
        p.retries[n].backoff_first = m.backoff_offset[n]
        p.retries[n].backoff_last = m.backoff_offset[n] + m.backoff_count[n] - 1
        step.next_row = m.next + n * m.width
        p.retries[n].label_last = m.label_offset[n] + m.label_count[n] - 1
        p.retries[n].duration_last = m.duration_offset[n] + m.duration_count[n] - 1
        step.label_cells = p.cells + cell_count
        step.label_shift = 32 - _cell_bits(m.label_count[n])
        if m.label_count[n] > 0:
            _fill_cells(p.cells + cell_count, m.label_start, m.label_id, m.label_offset[n],
                        m.label_count[n], _cell_bits(m.label_count[n]))
        cell_count += 1 << _cell_bits(m.label_count[n])
        step.duration_cells = p.cells + cell_count
        step.duration_shift = 64 - _cell_bits(m.duration_count[n])
        if m.duration_count[n] > 0:
            _fill_cells(p.cells + cell_count, m.duration_start, NULL, m.duration_offset[n],
                        m.duration_count[n], _cell_bits(m.duration_count[n]))
        cell_count += 1 << _cell_bits(m.duration_count[n])
    return 0


cdef void _release(Packed* p) noexcept:
    free(p.steps)
    free(p.retries)
    free(p.cells)
    free(p.durations)
    free(p.labels)
    free(p.totals)
    p.steps = NULL
    p.retries = NULL
    p.cells = NULL
    p.durations = NULL
    p.labels = NULL
    p.totals = NULL


cdef int64_t run_chunk(const Packed* p, Outputs* out, int64_t runs, int64_t first_run,
                       uint64_t seed, int32_t max_steps) noexcept nogil:
    """Every run of the chunk; the number of steps simulated.

    Nothing here allocates or touches a Python object; the only memory written is the
    chunk's own slice of the per-run outputs and this call's own totals block.
    """
    cdef uint64_t s0, s1, s2, s3, t, first, second, counter
    cdef int64_t run, now, started, ready, end, cut, duration, total = 0, delay
    cdef int64_t j, last
    cdef int32_t node, target, label, attempt, steps
    cdef uint32_t cell
    cdef uint8_t status
    cdef double u
    cdef bint expired, failed
    cdef const Step* step
    cdef const Retry* retry
    cdef const DurationSegment* segment
    cdef const uint8_t* leaf = p.leaf
    cdef int32_t width = p.width
    cdef const Step* steps_table = p.steps
    cdef const DurationSegment* durations = p.durations
    cdef const LabelSegment* labels = p.labels
    cdef const int64_t* backoff = p.backoff
    cdef Totals* totals = p.totals
    cdef int32_t* end_node = out.end_node
    cdef uint8_t* end_status = out.status
    cdef int64_t* end_time = out.time
    cdef int32_t* end_steps = out.steps
    for run in range(runs):
        counter = <uint64_t>(first_run + run) * 4
        s0 = splitmix(seed + (counter + 1) * GOLDEN)
        s1 = splitmix(seed + (counter + 2) * GOLDEN)
        s2 = splitmix(seed + (counter + 3) * GOLDEN)
        s3 = splitmix(seed + (counter + 4) * GOLDEN)
        node = p.start
        now = 0
        steps = 0
        status = ADVANCED
        while True:
            step = &steps_table[node]
            started = now
            ready = now
            attempt = 1
            # No deadline is NEVER (2**62): the sum stays past any time a run reaches, and
            # below 2**63 (build_tables bounds the clock), so no test is needed.
            cut = started + step.deadline
            while True:
                # xoshiro256**, twice: the outcome and label word, then the duration word.
                first = rotl(s1 * 5, 7) * 9
                t = s1 << 17
                s2 ^= s0
                s3 ^= s1
                s1 ^= s2
                s0 ^= s3
                s2 ^= t
                s3 = rotl(s3, 45)
                second = rotl(s1 * 5, 7) * 9
                t = s1 << 17
                s2 ^= s0
                s3 ^= s1
                s1 ^= s2
                s0 ^= s3
                s2 ^= t
                s3 = rotl(s3, 45)
                u = <double><int64_t>(second >> 11) * 1.1102230246251565e-16
                cell = step.duration_cells[second >> step.duration_shift]
                j = cell >> 1
                if unlikely(cell & 1):
                    last = p.retries[node].duration_last
                    while j < last and durations[j + 1].start <= u:
                        j += 1
                segment = &durations[j]
                duration = <int64_t>(segment.value + segment.slope * (u - segment.start))
                if likely((first >> 32) >= step.completes_from and duration < step.timeout):
                    # Completed (the common case, kept straight): a label, unless too late.
                    end = ready + duration
                    if unlikely(end >= cut):
                        label = 0
                        now = cut
                        break
                    cell = step.label_cells[(first & 0xFFFFFFFFULL) >> step.label_shift]
                    if unlikely(cell & 1):
                        u = <double><int64_t>(first & 0xFFFFFFFFULL) * 2.3283064365386963e-10
                        j = cell >> 1
                        last = p.retries[node].label_last
                        while j < last and labels[j + 1].start <= u:
                            j += 1
                        label = labels[j].label
                    else:
                        label = cell >> 1
                    now = end
                    break
                retry = &p.retries[node]
                u = <double><int64_t>(first >> 32) * 2.3283064365386963e-10
                failed = u < retry.fail_below
                expired = (not failed and u < retry.lost_below) or duration >= step.timeout
                end = ready + (step.timeout if expired else duration)
                if end >= cut:
                    label = 0
                    now = cut
                    break
                if attempt >= step.attempts or (failed and not expired
                                                and u < retry.permanent_below):
                    label = 0 if expired else p.failed_label
                    now = end
                    break
                j = retry.backoff_first + attempt - 1
                delay = backoff[j if j < retry.backoff_last else retry.backoff_last]
                # The label draw is unused by an attempt that did not complete: it jitters
                # the wait, as Backoff.jittered_ms does (the same operations, in order).
                u = <double><int64_t>(first & 0xFFFFFFFFULL) * 2.3283064365386963e-10
                ready = end + delay - <int64_t>(<double>delay * retry.jitter * u)
                if ready >= cut:
                    label = 0
                    now = cut
                    break
                attempt += 1
            steps += 1
            totals[node].time += now - started
            totals[node].visits += 1
            totals[node].attempts += attempt
            # The kernel's rule on the node's own row (node 0 of a one-row table).
            status = follow(step.next_row, leaf, width, 0, label, &target)
            if unlikely(status == LABEL_NOT_OFFERED):
                break
            node = target
            if unlikely(status != ADVANCED or steps >= max_steps):
                break
        end_node[run] = node
        end_status[run] = status
        end_time[run] = now
        end_steps[run] = steps
        total += steps
    return total


cdef inline bint _vector(object array, int typenum, Py_ssize_t length):
    """True if ``array`` is a C-contiguous 1-d ndarray of ``typenum`` (and ``length`` if >= 0)."""
    if not isinstance(array, cnp.ndarray):
        return False
    cdef cnp.ndarray a = array
    return (cnp.PyArray_NDIM(a) == 1 and cnp.PyArray_TYPE(a) == typenum
            and cnp.PyArray_IS_C_CONTIGUOUS(a)
            and (length < 0 or cnp.PyArray_DIM(a, 0) == length))


cdef inline const void* _data(object array):
    return cnp.PyArray_DATA(<cnp.ndarray>array)


cdef bint _segments_inside(object offsets, object counts, Py_ssize_t flat_length, Py_ssize_t nodes,
                           bint non_empty_steps, const int32_t* attempts):
    """Every step's (offset, count) lies inside its flat array; steps have a segment."""
    cdef const int64_t* offset = <const int64_t*>_data(offsets)
    cdef const int32_t* count = <const int32_t*>_data(counts)
    cdef Py_ssize_t n
    for n in range(nodes):
        if count[n] < 0 or offset[n] < 0 or offset[n] + count[n] > flat_length:
            return False
        if non_empty_steps and attempts[n] > 0 and count[n] < 1:
            return False
    return True


cdef int _check(object tables, Model* m, Py_ssize_t* node_count):
    """Fill ``m`` from ``tables`` after checking every type, length and offset; a code."""
    packed = tables.packed
    cdef Py_ssize_t definition = tables.definition_id
    if not (_vector(packed.next_flat, cnp.NPY_INT32, -1) and _vector(packed.leaf_flat, cnp.NPY_UINT8, -1)
            and _vector(packed.next_offset, cnp.NPY_INT64, -1) and _vector(packed.node_offset, cnp.NPY_INT64, -1)
            and _vector(packed.node_count, cnp.NPY_INT32, -1) and _vector(packed.label_count, cnp.NPY_INT32, -1)):
        return BAD_TABLES
    if not 0 <= definition < len(packed.node_count):
        return BAD_TABLES
    cdef Py_ssize_t nodes = packed.node_count[definition]
    cdef int32_t width = packed.label_count[definition]
    cdef int64_t next_at = packed.next_offset[definition]
    cdef int64_t leaf_at = packed.node_offset[definition]
    if next_at < 0 or next_at + nodes * width > len(packed.next_flat) or leaf_at < 0 \
            or leaf_at + nodes > len(packed.leaf_flat):
        return CORRUPT_TABLES
    for name, typenum in (("timeout_ms", cnp.NPY_INT64), ("attempts", cnp.NPY_INT32),
                          ("deadline_ms", cnp.NPY_INT64), ("backoff_offset", cnp.NPY_INT64),
                          ("backoff_count", cnp.NPY_INT32), ("fail_below", cnp.NPY_FLOAT64),
                          ("lost_below", cnp.NPY_FLOAT64), ("permanent_below", cnp.NPY_FLOAT64),
                          ("jitter", cnp.NPY_FLOAT64), ("label_offset", cnp.NPY_INT64),
                          ("label_count", cnp.NPY_INT32), ("duration_offset", cnp.NPY_INT64),
                          ("duration_count", cnp.NPY_INT32)):
        if not _vector(getattr(tables, name), typenum, nodes):
            return BAD_TABLES
    for name, typenum in (("backoff_ms", cnp.NPY_INT64), ("label_start", cnp.NPY_FLOAT64),
                          ("label_id", cnp.NPY_INT32), ("duration_start", cnp.NPY_FLOAT64)):
        if not _vector(getattr(tables, name), typenum, -1):
            return BAD_TABLES
    cdef Py_ssize_t durations = len(tables.duration_start)
    if not (_vector(tables.duration_value, cnp.NPY_FLOAT64, durations)
            and _vector(tables.duration_slope, cnp.NPY_FLOAT64, durations)
            and _vector(tables.label_id, cnp.NPY_INT32, len(tables.label_start))):
        return BAD_TABLES
    m.next = <const int32_t*>_data(packed.next_flat) + next_at
    m.leaf = <const uint8_t*>_data(packed.leaf_flat) + leaf_at
    m.width = width
    m.start = tables.start
    m.failed_label = tables.failed_label
    m.timeout = <const int64_t*>_data(tables.timeout_ms)
    m.attempts = <const int32_t*>_data(tables.attempts)
    m.deadline = <const int64_t*>_data(tables.deadline_ms)
    m.backoff_offset = <const int64_t*>_data(tables.backoff_offset)
    m.backoff_count = <const int32_t*>_data(tables.backoff_count)
    m.backoff = <const int64_t*>_data(tables.backoff_ms)
    m.fail_below = <const double*>_data(tables.fail_below)
    m.permanent_below = <const double*>_data(tables.permanent_below)
    m.jitter = <const double*>_data(tables.jitter)
    m.lost_below = <const double*>_data(tables.lost_below)
    m.label_offset = <const int64_t*>_data(tables.label_offset)
    m.label_count = <const int32_t*>_data(tables.label_count)
    m.label_start = <const double*>_data(tables.label_start)
    m.label_id = <const int32_t*>_data(tables.label_id)
    m.duration_offset = <const int64_t*>_data(tables.duration_offset)
    m.duration_count = <const int32_t*>_data(tables.duration_count)
    m.duration_start = <const double*>_data(tables.duration_start)
    m.duration_value = <const double*>_data(tables.duration_value)
    m.duration_slope = <const double*>_data(tables.duration_slope)
    node_count[0] = nodes
    return _check_content(m, nodes, len(tables.backoff_ms), len(tables.label_start), durations,
                          tables)


cdef int _check_content(Model* m, Py_ssize_t nodes, Py_ssize_t backoffs, Py_ssize_t labels,
                        Py_ssize_t durations, object tables):
    """Every id and offset the loop will follow points inside its array."""
    cdef Py_ssize_t n, cell
    if not 0 <= m.start < nodes or m.failed_label >= m.width or m.failed_label < -1:
        return CORRUPT_TABLES
    for cell in range(nodes * m.width):
        if m.next[cell] >= nodes or m.next[cell] < -1:
            return CORRUPT_TABLES
    for cell in range(labels):
        if not 0 <= m.label_id[cell] < m.width:
            return CORRUPT_TABLES
    for n in range(nodes):
        if m.attempts[n] < 0 or m.timeout[n] < 0 or m.deadline[n] < 0:
            return CORRUPT_TABLES
        if m.attempts[n] > 1 and m.backoff_count[n] < 1:
            return CORRUPT_TABLES
    if not (_segments_inside(tables.backoff_offset, tables.backoff_count, backoffs, nodes, False, m.attempts)
            and _segments_inside(tables.label_offset, tables.label_count, labels, nodes, True, m.attempts)
            and _segments_inside(tables.duration_offset, tables.duration_count, durations, nodes, True, m.attempts)):
        return CORRUPT_TABLES
    return 0


def simulate(object tables, int64_t first_run, uint64_t seed, int32_t max_steps,
             object end_node, object status, object time_ms, object steps,
             object node_time_ms, object node_visits, object node_attempts):
    """Runs ``first_run`` onwards into the outputs; the steps simulated, or a code < 0."""
    cdef Model m
    cdef Py_ssize_t nodes = 0
    cdef int code = _check(tables, &m, &nodes)
    if code < 0:
        return code
    if max_steps < 1 or first_run < 0:
        return BAD_BATCH
    cdef Py_ssize_t runs = len(end_node) if _vector(end_node, cnp.NPY_INT32, -1) else -1
    if not (runs >= 0 and _vector(status, cnp.NPY_UINT8, runs) and _vector(time_ms, cnp.NPY_INT64, runs)
            and _vector(steps, cnp.NPY_INT32, runs)
            and _vector(node_time_ms, cnp.NPY_INT64, nodes) and _vector(node_visits, cnp.NPY_INT64, nodes)
            and _vector(node_attempts, cnp.NPY_INT64, nodes)):
        return BAD_BATCH
    for array in (end_node, status, time_ms, steps, node_time_ms, node_visits, node_attempts):
        if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>array):
            return BAD_BATCH
    cdef Outputs out = Outputs(
        <int32_t*>_data(end_node), <uint8_t*>_data(status), <int64_t*>_data(time_ms),
        <int32_t*>_data(steps))
    cdef int64_t* node_time = <int64_t*>_data(node_time_ms)
    cdef int64_t* visits = <int64_t*>_data(node_visits)
    cdef int64_t* attempts = <int64_t*>_data(node_attempts)
    cdef int64_t total
    cdef Py_ssize_t n
    cdef Packed packed
    if _pack(&m, &packed, nodes, len(tables.backoff_ms), len(tables.label_start),
             len(tables.duration_start)) < 0:
        raise MemoryError("no memory for the simulation's packed tables")
    try:
        with nogil:
            total = run_chunk(&packed, &out, runs, first_run, seed, max_steps)
        for n in range(nodes):
            node_time[n] += packed.totals[n].time
            visits[n] += packed.totals[n].visits
            attempts[n] += packed.totals[n].attempts
    finally:
        _release(&packed)
    return total
