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
from libc.stdlib cimport free, malloc

from kernel_types cimport ADVANCED, BAD_BATCH, BAD_TABLES, CORRUPT_TABLES, LABEL_NOT_OFFERED
from kernel_types cimport follow

cnp.import_array()

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
    const double* fail_below
    const double* lost_below
    const int64_t* label_offset
    const int32_t* label_count
    const double* label_start
    const int32_t* label_id
    const int64_t* duration_offset
    const int32_t* duration_count
    const double* duration_start
    const double* duration_value
    const double* duration_slope
    # Guide tables, built per call: entry off + k is the segment holding k / count.
    int64_t* label_guide
    int64_t* duration_guide


cdef struct Outputs:
    int32_t* end_node
    uint8_t* status
    int64_t* time
    int32_t* steps
    int64_t* node_time
    int64_t* node_visits
    int64_t* node_attempts


cdef inline uint64_t rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t splitmix(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t next_word(uint64_t* s) noexcept nogil:
    cdef uint64_t result = rotl(s[1] * 5, 7) * 9
    cdef uint64_t t = s[1] << 17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return result


cdef inline int64_t segment(const double* starts, const int64_t* guide, int64_t low,
                            int32_t width, double u) noexcept nogil:
    """The last segment in [low, low + width) whose start is <= u.

    The guide table lands on or next to it, so the scans below rarely take a step;
    the answer is the one the NumPy twin finds by bisection.
    """
    cdef int64_t k = <int64_t>(u * width)
    if k >= width:
        k = width - 1
    cdef int64_t j = guide[low + k]
    cdef int64_t last = low + width - 1
    while j < last and starts[j + 1] <= u:
        j += 1
    while j > low and starts[j] > u:
        j -= 1
    return j


cdef int64_t* build_guide(const double* starts, const int64_t* offsets, const int32_t* counts,
                          Py_ssize_t nodes, Py_ssize_t length):
    """For each node's segments, the segment holding each k / count; NULL if out of memory."""
    cdef int64_t* guide = <int64_t*>malloc(max(length, 1) * sizeof(int64_t))
    cdef Py_ssize_t n
    cdef int64_t k, j, low
    if guide == NULL:
        return NULL
    for n in range(nodes):
        low = offsets[n]
        j = low
        for k in range(counts[n]):
            while j < low + counts[n] - 1 and starts[j + 1] <= (<double>k) / counts[n]:
                j += 1
            guide[low + k] = j
    return guide


cdef int64_t run_chunk(const Model* m, Outputs* out, int64_t runs, int64_t first_run,
                       uint64_t seed, int32_t max_steps) noexcept nogil:
    """Every run of the chunk; the number of steps simulated."""
    cdef uint64_t s[4]
    cdef uint64_t first, second, counter
    cdef int64_t run, now, started, ready, end, cut, duration, timeout, total = 0
    cdef int64_t j, count
    cdef int32_t node, target, label, attempt, steps, k
    cdef uint8_t status
    cdef double outcome, u
    cdef bint expired, failed
    # Locals, so that the C compiler keeps them in registers: stores to the outputs
    # could otherwise alias every table and force a reload after each one.
    cdef const int32_t* m_next = m.next
    cdef const uint8_t* m_leaf = m.leaf
    cdef int32_t m_width = m.width
    cdef int32_t m_start = m.start
    cdef int32_t m_failed_label = m.failed_label
    cdef const int64_t* m_timeout = m.timeout
    cdef const int32_t* m_attempts = m.attempts
    cdef const int64_t* m_deadline = m.deadline
    cdef const int64_t* m_backoff_offset = m.backoff_offset
    cdef const int32_t* m_backoff_count = m.backoff_count
    cdef const int64_t* m_backoff = m.backoff
    cdef const double* m_fail_below = m.fail_below
    cdef const double* m_lost_below = m.lost_below
    cdef const int64_t* m_label_offset = m.label_offset
    cdef const int32_t* m_label_count = m.label_count
    cdef const double* m_label_start = m.label_start
    cdef const int32_t* m_label_id = m.label_id
    cdef const int64_t* m_duration_offset = m.duration_offset
    cdef const int32_t* m_duration_count = m.duration_count
    cdef const double* m_duration_start = m.duration_start
    cdef const double* m_duration_value = m.duration_value
    cdef const double* m_duration_slope = m.duration_slope
    cdef const int64_t* m_label_guide = m.label_guide
    cdef const int64_t* m_duration_guide = m.duration_guide
    cdef int64_t* node_time = out.node_time
    cdef int64_t* node_visits = out.node_visits
    cdef int64_t* node_attempts = out.node_attempts
    for run in range(runs):
        counter = <uint64_t>(first_run + run) * 4
        for k in range(4):
            s[k] = splitmix(seed + (counter + <uint64_t>(k + 1)) * GOLDEN)
        node = m_start
        now = 0
        steps = 0
        status = ADVANCED
        while True:
            started = now
            ready = now
            attempt = 1
            timeout = m_timeout[node]
            cut = NEVER if m_deadline[node] == NEVER else started + m_deadline[node]
            while True:
                first = next_word(s)
                second = next_word(s)
                outcome = <double>(first >> 32) * 2.3283064365386963e-10
                u = <double>(second >> 11) * 1.1102230246251565e-16
                j = segment(m_duration_start, m_duration_guide, m_duration_offset[node],
                            m_duration_count[node], u)
                duration = <int64_t>(m_duration_value[j] + m_duration_slope[j] * (u - m_duration_start[j]))
                failed = outcome < m_fail_below[node]
                expired = (not failed and outcome < m_lost_below[node]) or duration >= timeout
                end = ready + (timeout if expired else duration)
                if end >= cut:
                    label = 0
                    now = cut
                    break
                if not expired and not failed:
                    u = <double>(first & 0xFFFFFFFFULL) * 2.3283064365386963e-10
                    j = segment(m_label_start, m_label_guide, m_label_offset[node],
                                m_label_count[node], u)
                    label = m_label_id[j]
                    now = end
                    break
                if attempt >= m_attempts[node]:
                    label = 0 if expired else m_failed_label
                    now = end
                    break
                count = m_backoff_count[node]
                ready = end + m_backoff[m_backoff_offset[node] + (attempt if attempt < count else count) - 1]
                if ready >= cut:
                    label = 0
                    now = cut
                    break
                attempt += 1
            steps += 1
            node_time[node] += now - started
            node_visits[node] += 1
            node_attempts[node] += attempt
            status = follow(m_next, m_leaf, m_width, node, label, &target)
            if status == LABEL_NOT_OFFERED:
                break
            node = target
            if status != ADVANCED or steps >= max_steps:
                break
        out.end_node[run] = node
        out.status[run] = status
        out.time[run] = now
        out.steps[run] = steps
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
                          ("lost_below", cnp.NPY_FLOAT64), ("label_offset", cnp.NPY_INT64),
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
        <int32_t*>_data(steps), <int64_t*>_data(node_time_ms), <int64_t*>_data(node_visits),
        <int64_t*>_data(node_attempts))
    cdef int64_t total
    m.label_guide = build_guide(m.label_start, m.label_offset, m.label_count, nodes,
                                len(tables.label_start))
    m.duration_guide = build_guide(m.duration_start, m.duration_offset, m.duration_count, nodes,
                                   len(tables.duration_start))
    try:
        if m.label_guide == NULL or m.duration_guide == NULL:
            raise MemoryError("no memory for the simulation's guide tables")
        with nogil:
            total = run_chunk(&m, &out, runs, first_run, seed, max_steps)
    finally:
        free(m.label_guide)
        free(m.duration_guide)
    return total
