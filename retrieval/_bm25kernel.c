/*
 * The exact top k of a BM25+ concept query, document at a time with MaxScore pruning.
 *
 * retrieval/bm25.py resolves the query (terms, weights, postings ranges) and calls top_k() here; the numpy
 * scoring in retrieval/bm25math.py stays the reference, and the tests compare the two bit for bit.
 *
 * Why C: the numpy version spends most of its time in per-term array calls and in selecting the top k over every
 * matching document. Here the postings of a query are merged in doc-id order, each document is bounded from the
 * precomputed float32 gains, and only a document whose bound can still reach the k-th best score is scored
 * exactly, with rank-bm25's operations in rank-bm25's order (so the scores are bit-identical to
 * BM25Plus.get_scores and to bm25math.accumulate). MaxScore (Turtle & Flood, 1995): terms whose bounds together
 * cannot lift a document into the top k are not iterated, only probed for the documents the others bring.
 *
 * Build flags: -ffp-contract=off (setup.py), so that no compiler fuses a*b+c into one rounding.
 * Only the buffer protocol is used (no numpy headers), so the build needs nothing but a C compiler.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Py_ssize_t group;  /* index of its concept */
    double weight, idf;
    double konst;      /* weight·(idf·δ): its score where absent, and the DisMax offset of its gain */
    double ub;         /* a bound of weight·gain over all its postings */
    const int32_t *ids;
    Py_ssize_t base;   /* offset of its postings in the global arrays */
    Py_ssize_t n, pos; /* postings count and cursor */
} Term;

typedef struct {
    double score;
    int32_t doc;
} Hit;

typedef struct {
    const int32_t *doc_ids;
    const void *tf;
    int tf_size;
    const float *gain;
    const double *norm;
    const unsigned char *mask;  /* NULL: every document is allowed */
    double k1p1, delta, tie;
    Py_ssize_t n_docs;
} Index;

static inline double read_tf(const Index *ix, Py_ssize_t at) {
    switch (ix->tf_size) {
    case 1: return (double)((const uint8_t *)ix->tf)[at];
    case 2: return (double)((const uint16_t *)ix->tf)[at];
    case 4: return (double)((const uint32_t *)ix->tf)[at];
    default: return (double)((const uint64_t *)ix->tf)[at];
    }
}

static inline int matches(const Term *t, int32_t doc) { return t->pos < t->n && t->ids[t->pos] == doc; }

/* The term's weighted BM25+ score in doc: rank-bm25's idf·(δ + tf·(k1+1)/(norm+tf)), then ·weight (bm25math._column). */
static inline double column(const Index *ix, const Term *t, int32_t doc) {
    if (!matches(t, doc))
        return t->konst;
    double tf = read_tf(ix, t->base + t->pos);
    double c = t->idf * (ix->delta + (tf * ix->k1p1) / (ix->norm[doc] + tf));
    return c * t->weight;
}

/* bm25math.accumulate for one document: concepts summed in query order; a concept of several terms is DisMax. */
static double exact_score(const Index *ix, const Term *terms, const Py_ssize_t *group_start, Py_ssize_t n_groups,
                          int32_t doc) {
    double acc = 0.0;
    for (Py_ssize_t g = 0; g < n_groups; g++) {
        Py_ssize_t lo = group_start[g], hi = group_start[g + 1];
        double col;
        if (hi - lo == 1) {
            col = column(ix, &terms[lo], doc);
        } else {
            double best = 0.0, sum = 0.0, top_konst = terms[lo].konst;
            for (Py_ssize_t j = lo; j < hi; j++) {
                double gain = column(ix, &terms[j], doc) - terms[j].konst;
                if (j == lo) {
                    best = sum = gain;
                } else {
                    if (gain > best) best = gain;
                    sum += gain;
                }
                if (terms[j].konst > top_konst) top_konst = terms[j].konst;
            }
            col = ix->tie != 0.0 ? best + ix->tie * (sum - best) : best;
            col += top_konst;
        }
        acc = g == 0 ? col : acc + col;
    }
    return acc;
}

/* Move the cursor to the first posting >= doc: galloping, then binary search. */
static inline void advance(Term *t, int32_t doc) {
    Py_ssize_t lo = t->pos, step = 1, hi;
    if (lo >= t->n || t->ids[lo] >= doc) return;
    while (lo + step < t->n && t->ids[lo + step] < doc) {
        lo += step;
        step <<= 1;
    }
    hi = lo + step < t->n ? lo + step : t->n;  /* ids[lo] < doc, and ids[hi] >= doc or hi == n */
    while (hi - lo > 1) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (t->ids[mid] < doc) lo = mid; else hi = mid;
    }
    t->pos = hi;
}

/* The heap's root is the worst hit kept: the lowest score, and of equal scores the highest doc id. */
static inline int worse(const Hit *a, const Hit *b) {
    return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

static void sift_down(Hit *heap, Py_ssize_t size, Py_ssize_t i) {
    for (;;) {
        Py_ssize_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < size && worse(&heap[l], &heap[w])) w = l;
        if (r < size && worse(&heap[r], &heap[w])) w = r;
        if (w == i) return;
        Hit tmp = heap[i]; heap[i] = heap[w]; heap[w] = tmp;
        i = w;
    }
}

static void sift_up(Hit *heap, Py_ssize_t i) {
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (!worse(&heap[i], &heap[parent])) return;
        Hit tmp = heap[i]; heap[i] = heap[parent]; heap[parent] = tmp;
        i = parent;
    }
}

static int by_ub(const void *a, const void *b) {
    const Term *x = *(const Term *const *)a, *y = *(const Term *const *)b;
    if (x->ub != y->ub) return x->ub < y->ub ? -1 : 1;
    return x->n > y->n ? -1 : x->n < y->n;  /* of equal bounds, the longer list is probed, not iterated */
}

static int best_first(const void *a, const void *b) {
    const Hit *x = a, *y = b;
    return worse(y, x) ? -1 : worse(x, y) ? 1 : 0;
}

/* Document-at-a-time MaxScore over terms; fills heap (size returned), best last unsorted. */
static Py_ssize_t search(const Index *ix, Term *terms, const Py_ssize_t *group_start, Py_ssize_t n_groups,
                         Py_ssize_t n_terms, Term **order, double *prefix, double base, double eps, Hit *heap,
                         Py_ssize_t k) {
    Py_ssize_t size = 0, lazy = 0;  /* order[0:lazy] are probed only (non-essential) */
    double threshold = -INFINITY;
    for (;;) {
        int32_t doc = INT32_MAX;
        for (Py_ssize_t i = lazy; i < n_terms; i++) {
            Term *t = order[i];
            if (t->pos < t->n && t->ids[t->pos] < doc) doc = t->ids[t->pos];
        }
        if (doc == INT32_MAX) break;
        if (doc < 0 || doc >= ix->n_docs) return -1;  /* the only ids that index norm and mask */
        if (!ix->mask || ix->mask[doc]) {
            double bound = base;
            for (Py_ssize_t i = lazy; i < n_terms; i++)
                if (matches(order[i], doc))
                    bound += (double)ix->gain[order[i]->base + order[i]->pos] * order[i]->weight;
            Py_ssize_t i = lazy;
            while (i > 0 && bound + prefix[i - 1] >= threshold - eps) {
                Term *t = order[--i];
                advance(t, doc);
                if (matches(t, doc)) bound += (double)ix->gain[t->base + t->pos] * t->weight;
            }
            if (i == 0 && bound >= threshold - eps) {
                Hit hit = {exact_score(ix, terms, group_start, n_groups, doc), doc};
                if (size < k) {
                    heap[size] = hit;
                    sift_up(heap, size++);
                } else if (hit.score > heap[0].score) {  /* an equal score loses: its doc id is higher */
                    heap[0] = hit;
                    sift_down(heap, size, 0);
                }
                if (size == k && heap[0].score > threshold) {
                    threshold = heap[0].score;
                    while (lazy < n_terms && base + prefix[lazy] < threshold - eps) lazy++;
                }
            }
        }
        for (Py_ssize_t i = lazy; i < n_terms; i++)
            if (matches(order[i], doc)) order[i]->pos++;
        if (lazy == n_terms) break;  /* no document the remaining terms contain can reach the top k */
    }
    return size;
}

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (itemsize && view->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: items of %zd bytes expected, got %zd", name, itemsize, view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(top_k_doc,
"top_k(terms, doc_ids, tf, gain, norm, mask, k, k1, delta, tie) -> list[tuple[int, float]]\n\n"
"The k best (doc id, score) pairs, best first, ties to the lower doc id.\n"
"terms: (concept, weight, idf, start, stop, bound) per term, concepts numbered from 0 in order, each term's\n"
"postings at doc_ids[start:stop]; bound >= weight * gain of every posting. mask: None or one byte per document.");

static PyObject *top_k(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *spec, *ids_obj, *tf_obj, *gain_obj, *norm_obj, *mask_obj, *result = NULL;
    Py_ssize_t k;
    double k1, delta, tie;
    if (!PyArg_ParseTuple(args, "OOOOOOnddd:top_k", &spec, &ids_obj, &tf_obj, &gain_obj, &norm_obj, &mask_obj, &k,
                          &k1, &delta, &tie))
        return NULL;
    /* A tuple copy: a list could be changed by the __float__/__index__ calls of PyArg_ParseTuple below. */
    PyObject *seq = PySequence_Tuple(spec);
    if (!seq) return NULL;
    Py_ssize_t n_terms = PyTuple_GET_SIZE(seq);
    Py_buffer ids = {0}, tf = {0}, gain = {0}, norm = {0}, mask = {0};
    Term *terms = NULL;
    Term **order = NULL;
    double *prefix = NULL;
    Py_ssize_t *group_start = NULL;
    Hit *heap = NULL;
    if (get_buffer(ids_obj, &ids, 4, "doc_ids") < 0 || get_buffer(tf_obj, &tf, 0, "tf") < 0
        || get_buffer(gain_obj, &gain, 4, "gain") < 0 || get_buffer(norm_obj, &norm, 8, "norm") < 0
        || (mask_obj != Py_None && get_buffer(mask_obj, &mask, 1, "mask") < 0))
        goto done;
    if (tf.itemsize != 1 && tf.itemsize != 2 && tf.itemsize != 4 && tf.itemsize != 8) {
        PyErr_SetString(PyExc_TypeError, "tf: unsigned integers of 1, 2, 4 or 8 bytes expected");
        goto done;
    }
    Py_ssize_t n_postings = ids.len / 4, n_docs = norm.len / 8;
    if (tf.len / tf.itemsize != n_postings || gain.len / 4 != n_postings || (mask.buf && mask.len != n_docs)) {
        PyErr_SetString(PyExc_ValueError, "doc_ids, tf, gain (per posting) and norm, mask (per document) disagree");
        goto done;
    }
    if (!(tie >= 0.0 && tie <= 1.0)) {  /* the bounds assume best + tie·(sum − best) <= sum */
        PyErr_SetString(PyExc_ValueError, "tie must be between 0 and 1");
        goto done;
    }
    if (k <= 0 || n_terms == 0) {
        result = PyList_New(0);
        goto done;
    }
    terms = PyMem_Calloc(n_terms, sizeof(Term));
    order = PyMem_Calloc(n_terms, sizeof(Term *));
    prefix = PyMem_Calloc(n_terms, sizeof(double));
    group_start = PyMem_Calloc(n_terms + 1, sizeof(Py_ssize_t));
    if (!terms || !order || !prefix || !group_start) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n_groups = 0, total = 0;
    double base = 0.0, group_konst = 0.0;
    for (Py_ssize_t j = 0; j < n_terms; j++) {
        Term *t = &terms[j];
        Py_ssize_t start, stop;
        PyObject *item = PyTuple_GET_ITEM(seq, j);
        if (!PyTuple_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "terms: each term must be a tuple");
            goto done;
        }
        if (!PyArg_ParseTuple(item, "nddnnd:term", &t->group, &t->weight, &t->idf,
                              &start, &stop, &t->ub))
            goto done;
        Py_ssize_t previous = j ? terms[j - 1].group : 0;
        if (start < 0 || stop < start || stop > n_postings || t->group < previous || t->group > previous + 1
            || (j == 0 && t->group != 0) || !(t->weight >= 0.0 && isfinite(t->weight))
            || !(t->idf >= 0.0 && isfinite(t->idf)) || !(t->ub >= 0.0)) {
            PyErr_SetString(PyExc_ValueError,
                            "terms: postings out of range, concepts not numbered in order, or a weight, idf or bound < 0");
            goto done;
        }
        t->konst = t->weight * (t->idf * delta);
        t->ids = (const int32_t *)ids.buf + start;
        t->base = start;
        t->n = stop - start;
        total += t->n;
        if (j == 0 || t->group != terms[j - 1].group) {
            base += group_konst;
            group_konst = t->konst;
            group_start[n_groups++] = j;
        } else if (t->konst > group_konst) {
            group_konst = t->konst;
        }
        order[j] = t;
    }
    base += group_konst;
    group_start[n_groups] = n_terms;
    qsort(order, n_terms, sizeof(Term *), by_ub);
    double running = 0.0;
    for (Py_ssize_t i = 0; i < n_terms; i++) prefix[i] = running += order[i]->ub;
    /* Bounds are sums of float32 gains in any order: compare them with a slack over ten times their rounding
     * (float32 is within 2^-24 relatively, and a bound sums one gain per term). Too much slack only scores a few
     * more documents exactly; too little could drop one. */
    double eps = 1e-6 * (1.0 + fabs(running) + fabs(base));
    if (k > total) k = total;
    if (k > n_docs) k = n_docs;  /* duplicate terms count their postings twice in total */
    heap = PyMem_Calloc(k ? k : 1, sizeof(Hit));
    if (!heap) {
        PyErr_NoMemory();
        goto done;
    }
    Index ix = {ids.buf, tf.buf, (int)tf.itemsize, gain.buf, norm.buf, mask.buf, k1 + 1, delta, tie, n_docs};
    Py_ssize_t size;
    Py_BEGIN_ALLOW_THREADS
    size = k ? search(&ix, terms, group_start, n_groups, n_terms, order, prefix, base, eps, heap, k) : 0;
    if (size > 0) qsort(heap, size, sizeof(Hit), best_first);
    Py_END_ALLOW_THREADS
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "doc_ids: a doc id outside [0, len(norm))");
        goto done;
    }
    result = PyList_New(size);
    for (Py_ssize_t i = 0; result && i < size; i++) {
        PyObject *pair = Py_BuildValue("(id)", heap[i].doc, heap[i].score);
        if (!pair) Py_CLEAR(result); else PyList_SET_ITEM(result, i, pair);
    }
done:
    PyMem_Free(terms);
    PyMem_Free(order);
    PyMem_Free(prefix);
    PyMem_Free(group_start);
    PyMem_Free(heap);
    if (ids.obj) PyBuffer_Release(&ids);
    if (tf.obj) PyBuffer_Release(&tf);
    if (gain.obj) PyBuffer_Release(&gain);
    if (norm.obj) PyBuffer_Release(&norm);
    if (mask.obj) PyBuffer_Release(&mask);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"top_k", top_k, METH_VARARGS, top_k_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "retrieval._bm25kernel",
    "The exact BM25+ top k of a concept query in C (see retrieval/bm25.py).", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__bm25kernel(void) { return PyModule_Create(&module); }
