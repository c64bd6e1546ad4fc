/* Native fast path of the DL/T 645 decoder: the well-formed normal read reply, decoded completely.
 *
 * decode_frame(data, allow_trailing=False) returns exactly what gridcare.protocols.dlt645.codec's Python
 * decoder returns: the same Dlt645Frame and Value classes (their slots set directly), Decimal values built from their digit text
 * (exact), dates rendered by the same Python time decoders. Anything it does not decode itself - another
 * control code, a wildcard address, a bad checksum or length, a non-BCD byte (the no-data filler, a
 * bit field, an error), an identifier without a compiled layout, an invalid date - is handed, untouched,
 * to the Python decoder (`fallback`), which decodes it or raises the documented FrameError. So this file
 * never raises a FrameError itself and never reads outside `data`.
 *
 * The layouts are the ones gridcare.protocols.dlt645.fast compiles from the identifier registry (one per
 * identifier and data length): a tuple of (name, unit, kind, start, stop, arg) items whose start/stop
 * index the digit string of the reversed data field. Equivalence with the Python decoders is tested on
 * the fuzz corpus and its mutants (tests/protocols/test_fast_paths.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* Item kinds: the K_* constants of gridcare.protocols.dlt645.fast. */
enum { K_DECIMAL, K_INT, K_SIGNED, K_BIN, K_TEXT, K_TIME };

#define MAX_DIGITS 120 /* longer items (none in the registry today) go to the Python decoder, as do the
                          * kinds of item no registry entry has yet (signed integers, more decimals than
                          * digits, integers over 18 digits) */

static PyObject *fallback;        /* decode_frame_py(data, allow_trailing) */
static PyObject *layout_miss;     /* callable(control, identifier) -> {data length: layout tuple} */
static PyObject *fallback_marker; /* fastbcd.FALLBACK: a time decoder's "not for me" */
static PyObject *switch_dict;     /* fastbcd's namespace: its ENABLED switches every fast path */
static PyTypeObject *value_type, *frame_type;
static PyObject *create_decimal; /* Context(prec=MAX_PREC, ...).create_decimal: exact, no context look-up */

static PyObject *empty_tuple, *s_enabled, *s_reply, *s_protocol_2007, *s_protocol_1997;

static const char HEX_UPPER[] = "0123456789ABCDEF";

static inline int is_bcd(unsigned char b) { return (b >> 4) <= 9 && (b & 0x0F) <= 9; }

/* Slot offsets of the fields of Value and Dlt645Frame (frozen dataclasses with slots), found at setup. */
enum { V_NAME, V_VALUE, V_UNIT, V_FIELDS };
enum {
    F_PROTOCOL, F_ADDRESS, F_CONTROL, F_DIRECTION, F_ABNORMAL, F_FOLLOW_UP, F_FUNCTION, F_DI, F_VALUES,
    F_ERROR_BITS, F_PAYLOAD, F_WARNINGS, F_FIELDS
};
static const char *const VALUE_FIELDS[V_FIELDS] = {"name", "value", "unit"};
static const char *const FRAME_FIELDS[F_FIELDS] = {
    "protocol", "address", "control", "direction", "abnormal", "follow_up", "function", "di", "values",
    "error_bits", "payload", "warnings",
};
static Py_ssize_t value_offsets[V_FIELDS], frame_offsets[F_FIELDS];

/* An instance of `type` without calling its __init__, its slots set from `fields` (references stolen;
 * a NULL field fails the whole): what object.__new__ + object.__setattr__ per field do in fast.py. */
static PyObject *
new_with_slots(PyTypeObject *type, const Py_ssize_t *offsets, PyObject **fields, int count)
{
    PyObject *obj = NULL;
    for (int k = 0; k < count; k++)
        if (fields[k] == NULL)
            goto fail;
    obj = type->tp_alloc(type, 0);
    if (obj == NULL)
        goto fail;
    for (int k = 0; k < count; k++)
        *(PyObject **)((char *)obj + offsets[k]) = fields[k];
    return obj;
fail:
    for (int k = 0; k < count; k++)
        Py_XDECREF(fields[k]);
    return NULL;
}

/* The slot offsets of `names` in `type`, from its member descriptors; -1 and an exception if any is not
 * a plain object slot. */
static int
slot_offsets(PyObject *type, const char *const *names, int count, Py_ssize_t *out)
{
    for (int k = 0; k < count; k++) {
        PyObject *descr = PyObject_GetAttrString(type, names[k]);
        if (descr == NULL)
            return -1;
        int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                 ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (ok)
            out[k] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_DECREF(descr);
        if (!ok) {
            PyErr_Format(PyExc_TypeError, "%R.%s is not a slot", type, names[k]);
            return -1;
        }
    }
    return 0;
}

/* The digits of data[lo:hi] read as a little-endian BCD number, most significant first, into `out`. */
static Py_ssize_t
digits_of(const unsigned char *data, Py_ssize_t lo, Py_ssize_t hi, char *out)
{
    Py_ssize_t k = 0;
    for (Py_ssize_t j = hi - 1; j >= lo; j--) {
        out[k++] = (char)('0' + (data[j] >> 4));
        out[k++] = (char)('0' + (data[j] & 0x0F));
    }
    return k;
}

/* One item of a layout, compiled: which bytes, how to decode them, and what to call the result. */
typedef struct {
    int kind;
    Py_ssize_t lo, hi; /* the item's bytes: data[lo:hi] */
    long decimals;     /* K_DECIMAL and K_SIGNED: implied decimal places (0 < decimals < digits) */
    PyObject *name, *unit, *time_decoder; /* strong references; time_decoder for K_TIME only */
} Item;

typedef struct {
    Py_ssize_t count;
    Item items[];
} Layout;

static void
free_layout(Layout *layout)
{
    if (layout == NULL)
        return;
    for (Py_ssize_t k = 0; k < layout->count; k++) {
        Py_XDECREF(layout->items[k].name);
        Py_XDECREF(layout->items[k].unit);
        Py_XDECREF(layout->items[k].time_decoder);
    }
    PyMem_Free(layout);
}

/* "E-2" -> 2: the decimals of a K_DECIMAL item, or -1. */
static long
decimals_of(PyObject *arg)
{
    Py_ssize_t len;
    const char *a = PyUnicode_Check(arg) ? PyUnicode_AsUTF8AndSize(arg, &len) : NULL;
    if (a == NULL || len < 3 || len > 5 || a[0] != 'E' || a[1] != '-')
        return -1;
    long d = 0;
    for (Py_ssize_t j = 2; j < len; j++) {
        if (a[j] < '0' || a[j] > '9')
            return -1;
        d = d * 10 + (a[j] - '0');
    }
    return d;
}

/* Compiles the Python layout of a data field of `dlen` bytes: a new Layout, or NULL where an item is of
 * a kind decoded in Python only (so is the whole field); -1 in *error on a Python error. */
static Layout *
compile_layout(PyObject *layout, Py_ssize_t dlen, int *error)
{
    *error = 0;
    if (!PyTuple_Check(layout))
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(layout);
    Layout *out = PyMem_Calloc(1, sizeof(Layout) + (size_t)count * sizeof(Item));
    if (out == NULL) {
        PyErr_NoMemory();
        *error = -1;
        return NULL;
    }
    for (Py_ssize_t k = 0; k < count; k++, out->count++) {
        PyObject *t = PyTuple_GET_ITEM(layout, k);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 6)
            goto python_only;
        Item *it = &out->items[k];
        it->kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(t, 2));
        Py_ssize_t start = PyLong_AsSsize_t(PyTuple_GET_ITEM(t, 3));
        Py_ssize_t stop = PyLong_AsSsize_t(PyTuple_GET_ITEM(t, 4));
        PyObject *arg = PyTuple_GET_ITEM(t, 5);
        if (PyErr_Occurred()) {
            PyErr_Clear();
            goto python_only;
        }
        /* digits [start, stop) of the reversed data are its bytes [dlen - stop/2, dlen - start/2) */
        it->lo = dlen - stop / 2, it->hi = dlen - start / 2;
        Py_ssize_t n = stop - start; /* digits */
        if (start < 0 || start > stop || (start | stop) & 1 || it->lo < 0 || it->hi > dlen || n > MAX_DIGITS)
            goto python_only;
        switch (it->kind) {
        case K_DECIMAL:
            it->decimals = decimals_of(arg);
            PyErr_Clear();
            if (it->decimals <= 0 || it->decimals >= n)
                goto python_only;
            break;
        case K_SIGNED:
            it->decimals = -PyLong_AsLong(arg);
            if (PyErr_Occurred()) {
                PyErr_Clear();
                goto python_only;
            }
            if (it->decimals <= 0 || it->decimals >= n)
                goto python_only; /* signed integers: none in the registry yet */
            break;
        case K_INT:
            if (n > 18)
                goto python_only;
            break;
        case K_BIN:
            if (n > 16)
                goto python_only;
            break;
        case K_TEXT:
            break;
        case K_TIME:
            it->time_decoder = Py_NewRef(arg);
            break;
        default:
            goto python_only;
        }
        it->name = Py_NewRef(PyTuple_GET_ITEM(t, 0));
        it->unit = Py_NewRef(PyTuple_GET_ITEM(t, 1));
    }
    return out;
python_only:
    out->count++; /* the item being compiled may hold references too */
    free_layout(out);
    return NULL;
}

/* An ASCII str of `text` (no UTF-8 decoding on the way). */
static PyObject *
ascii_str(const char *text, Py_ssize_t len)
{
    PyObject *s = PyUnicode_New(len, 127);
    if (s != NULL)
        memcpy(PyUnicode_1BYTE_DATA(s), text, (size_t)len);
    return s;
}

/* Decimal("-" if negative, digits with `decimals` implied places), exact: the point is written into the
 * text ("12345", 2 -> "123.45", exponent -2). Needs 0 < decimals < n (checked by compile_layout). */
static PyObject *
decimal_of(const char *digits, Py_ssize_t n, long decimals, int negative)
{
    char text[MAX_DIGITS + 2];
    Py_ssize_t len = 0;
    if (negative)
        text[len++] = '-';
    memcpy(text + len, digits, (size_t)(n - decimals));
    len += n - decimals;
    text[len++] = '.';
    memcpy(text + len, digits + n - decimals, (size_t)decimals);
    len += decimals;
    PyObject *s = ascii_str(text, len);
    if (s == NULL)
        return NULL;
    PyObject *d = PyObject_CallOneArg(create_decimal, s);
    Py_DECREF(s);
    return d;
}

/* One item's value (a new reference), fallback_marker (new) when the Python decoder must decide, or NULL. */
static PyObject *
item_value(const Item *it, const unsigned char *data)
{
    char buf[MAX_DIGITS];
    Py_ssize_t n = digits_of(data, it->lo, it->hi, buf);
    switch (it->kind) {
    case K_DECIMAL: /* exactly Decimal(int(digits)).scaleb(-decimals), as fast.py and bcd.py give */
        return decimal_of(buf, n, it->decimals, 0);
    case K_SIGNED: { /* sign bit: BCD top nibble 8 or 9; -0 is 0 */
        int negative = buf[0] >= '8';
        if (negative)
            buf[0] = (char)(buf[0] - 8);
        Py_ssize_t first = 0;
        while (first < n - 1 && buf[first] == '0')
            first++;
        return decimal_of(buf, n, it->decimals, negative && buf[first] != '0');
    }
    case K_INT: {
        unsigned long long v = 0;
        for (Py_ssize_t j = 0; j < n; j++)
            v = v * 10 + (unsigned long long)(buf[j] - '0');
        return PyLong_FromUnsignedLongLong(v);
    }
    case K_BIN: { /* the bytes as a little-endian integer */
        unsigned long long v = 0;
        for (Py_ssize_t j = it->hi - 1; j >= it->lo; j--)
            v = (v << 8) | data[j];
        return PyLong_FromUnsignedLongLong(v);
    }
    case K_TEXT:
        return ascii_str(buf, n);
    default: { /* K_TIME: the Python time decoder renders it, or says FALLBACK */
        PyObject *s = ascii_str(buf, n);
        if (s == NULL)
            return NULL;
        PyObject *v = PyObject_CallOneArg(it->time_decoder, s);
        Py_DECREF(s);
        return v;
    }
    }
}

/* The Values of `data` by `layout`: a new tuple, Py_None when the Python decoder must decide, or NULL. */
static PyObject *
decode_items(const Layout *layout, const unsigned char *data, Py_ssize_t dlen)
{
    for (Py_ssize_t j = 0; j < dlen; j++)
        if (!is_bcd(data[j]))
            Py_RETURN_NONE; /* the filler, a bit field, or an error: the checking decoder knows */
    PyObject *values = PyTuple_New(layout->count);
    if (values == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < layout->count; k++) {
        const Item *it = &layout->items[k];
        PyObject *value = item_value(it, data);
        if (value == NULL || value == fallback_marker) {
            Py_DECREF(values);
            if (value == NULL)
                return NULL;
            Py_DECREF(value);
            Py_RETURN_NONE;
        }
        PyObject *fields[V_FIELDS] = {Py_NewRef(it->name), value, Py_NewRef(it->unit)};
        PyObject *v = new_with_slots(value_type, value_offsets, fields, V_FIELDS);
        if (v == NULL) {
            Py_DECREF(values);
            return NULL;
        }
        PyTuple_SET_ITEM(values, k, v);
    }
    return values;
}

static const char LAYOUT_CAPSULE[] = "gridcare.protocols.dlt645._accel.Layout";

static void
free_layout_capsule(PyObject *capsule)
{
    free_layout(PyCapsule_GetPointer(capsule, LAYOUT_CAPSULE));
}

/* (identifier, data length) -> (the identifier's text, the compiled layout in a capsule or None for
 * "decoded in Python": no layout, or an item kind decoded there only), direct-mapped: a collection round
 * reads a handful of identifiers, so this saves building the text and finding the layout per frame.
 * Entries are tuples: a decoder holds a reference to the one it uses, so a thread replacing the slot
 * meanwhile (while a Python time decoder runs) cannot free it under the other's feet. */
#define SLOTS 256
static struct {
    unsigned long long key; /* identifier bytes | its length << 32 | data length << 40; 0: empty */
    PyObject *entry;        /* (di, capsule or None) */
} slots[SLOTS];

/* A new reference to the (di, layout capsule or None) entry of the identifier of `payload` and a data
 * field of `dlen` bytes, or NULL on a Python error. */
static PyObject *
find_layout(int control, const unsigned char *payload, Py_ssize_t di_len, Py_ssize_t dlen)
{
    unsigned long long key = (unsigned long long)di_len << 32 | (unsigned long long)dlen << 40;
    for (Py_ssize_t j = 0; j < di_len; j++)
        key |= (unsigned long long)payload[j] << (8 * j);
    unsigned int slot = (unsigned int)((key * 0x9E3779B97F4A7C15ULL) >> 56) % SLOTS;
    if (slots[slot].key == key)
        return Py_NewRef(slots[slot].entry);
    char text[8];
    for (Py_ssize_t j = 0; j < di_len; j++) {
        text[2 * j] = HEX_UPPER[payload[di_len - 1 - j] >> 4];
        text[2 * j + 1] = HEX_UPPER[payload[di_len - 1 - j] & 0x0F];
    }
    PyObject *name = ascii_str(text, 2 * di_len);
    if (name == NULL)
        return NULL;
    PyObject *args[2] = {PyLong_FromLong(control), name};
    PyObject *by_length = args[0] ? PyObject_Vectorcall(layout_miss, args, 2, NULL) : NULL;
    Py_XDECREF(args[0]);
    PyObject *length = by_length ? PyLong_FromSsize_t(dlen) : NULL;
    PyObject *found = length && PyDict_Check(by_length) ? PyDict_GetItemWithError(by_length, length) : NULL;
    int error = PyErr_Occurred() ? -1 : 0;
    Layout *compiled = found && !error ? compile_layout(found, dlen, &error) : NULL;
    Py_XDECREF(length);
    Py_XDECREF(by_length);
    PyObject *capsule = compiled ? PyCapsule_New(compiled, LAYOUT_CAPSULE, free_layout_capsule) : NULL;
    if (compiled && capsule == NULL) {
        free_layout(compiled);
        error = -1;
    }
    PyObject *entry = error ? NULL : PyTuple_Pack(2, name, capsule ? capsule : Py_None);
    Py_DECREF(name);
    Py_XDECREF(capsule);
    if (entry == NULL)
        return NULL;
    Py_XSETREF(slots[slot].entry, Py_NewRef(entry));
    slots[slot].key = key;
    return entry;
}

/* The frame, or Py_None when the Python decoder must decide, or NULL on a Python error. */
static PyObject *
decode_fast(const unsigned char *buf, Py_ssize_t n, int allow_trailing)
{
    Py_ssize_t i = 0;
    while (i < n && buf[i] == 0xFE)
        i++;
    if (n < i + 12 || buf[i] != 0x68 || buf[i + 7] != 0x68)
        Py_RETURN_NONE;
    Py_ssize_t length = buf[i + 9], cs_pos = i + 10 + length;
    if (!(n == cs_pos + 2 || (allow_trailing && n > cs_pos + 2)) || buf[cs_pos + 1] != 0x16)
        Py_RETURN_NONE;
    unsigned int sum = 0;
    for (Py_ssize_t j = i; j < cs_pos; j++)
        sum += buf[j];
    if ((sum & 0xFF) != buf[cs_pos])
        Py_RETURN_NONE;
    for (Py_ssize_t j = i + 1; j < i + 7; j++)
        if (!is_bcd(buf[j]))
            Py_RETURN_NONE; /* a wildcard (AH) nibble or worse */
    int control = buf[i + 8];
    PyObject *protocol;
    Py_ssize_t di_len;
    switch (control) {
    case 0x91: case 0xB1:
        protocol = s_protocol_2007, di_len = 4;
        break;
    case 0x81: case 0x82: case 0x83: case 0xA1: case 0xA2: case 0xA3:
        protocol = s_protocol_1997, di_len = 2;
        break;
    default:
        Py_RETURN_NONE;
    }
    if (length < di_len)
        Py_RETURN_NONE;

    PyObject *payload = PyBytes_FromStringAndSize(NULL, length);
    if (payload == NULL)
        return NULL;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(payload);
    for (Py_ssize_t j = 0; j < length; j++)
        p[j] = (unsigned char)(buf[i + 10 + j] - 0x33);
    PyObject *result = NULL, *values = NULL;
    PyObject *entry = find_layout(control, p, di_len, length - di_len);
    if (entry == NULL)
        goto done;
    PyObject *di = PyTuple_GET_ITEM(entry, 0), *capsule = PyTuple_GET_ITEM(entry, 1);
    if (capsule == Py_None) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    const Layout *layout = PyCapsule_GetPointer(capsule, LAYOUT_CAPSULE);
    if (layout == NULL)
        goto done;
    values = decode_items(layout, p + di_len, length - di_len);
    if (values == NULL || values == Py_None) {
        result = values;
        values = NULL;
        goto done;
    }
    char text[12];
    for (Py_ssize_t j = 0; j < 6; j++) {
        unsigned char b = buf[i + 6 - j];
        text[2 * j] = (char)('0' + (b >> 4));
        text[2 * j + 1] = (char)('0' + (b & 0x0F));
    }
    PyObject *fields[F_FIELDS] = {
        [F_PROTOCOL] = Py_NewRef(protocol),
        [F_ADDRESS] = ascii_str(text, 12),
        [F_CONTROL] = PyLong_FromLong(control),
        [F_DIRECTION] = Py_NewRef(s_reply),
        [F_ABNORMAL] = Py_NewRef(Py_False),
        [F_FOLLOW_UP] = Py_NewRef((control & 0x20) ? Py_True : Py_False),
        [F_FUNCTION] = PyLong_FromLong(control & 0x1F),
        [F_DI] = Py_NewRef(di),
        [F_VALUES] = Py_NewRef(values),
        [F_ERROR_BITS] = Py_NewRef(Py_None),
        [F_PAYLOAD] = Py_NewRef(payload),
        [F_WARNINGS] = Py_NewRef(empty_tuple),
    };
    result = new_with_slots(frame_type, frame_offsets, fields, F_FIELDS);
done:
    Py_XDECREF(values);
    Py_XDECREF(entry);
    Py_DECREF(payload);
    return result;
}

static PyObject *
call_fallback(PyObject *data, int allow_trailing)
{
    PyObject *args[2] = {data, allow_trailing ? Py_True : Py_False};
    return PyObject_Vectorcall(fallback, args, 2, NULL);
}

PyDoc_STRVAR(decode_frame_doc,
"decode_frame(data, *, allow_trailing=False)\n--\n\n"
"Decode one DL/T 645-2007 or -1997 frame (leading FEH bytes allowed).\n\n"
"Raises only gridcare.protocols.errors.FrameError subclasses, each with the byte position. Bytes after\n"
"the end byte 16H are a BadLength error unless allow_trailing (then they are ignored). Normal read\n"
"replies are decoded natively; every other frame, and anything unusual, by the Python decoder.");

static PyObject *
decode_frame(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *data = NULL;
    int allow_trailing = 0;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs != 1 || nkw > 1) {
        PyErr_SetString(PyExc_TypeError, "decode_frame(data, *, allow_trailing=False)");
        return NULL;
    }
    data = args[0];
    if (nkw == 1) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(kwnames, 0)) ||
            PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "allow_trailing") != 0) {
            PyErr_SetString(PyExc_TypeError, "decode_frame() got an unexpected keyword argument");
            return NULL;
        }
        allow_trailing = PyObject_IsTrue(args[1]);
        if (allow_trailing < 0)
            return NULL;
    }
    if (!PyBytes_CheckExact(data))
        return call_fallback(data, allow_trailing);
    PyObject *enabled = PyDict_GetItemWithError(switch_dict, s_enabled); /* borrowed */
    if (enabled == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_AttributeError, "gridcare.protocols.fastbcd has no ENABLED");
        return NULL;
    }
    int on = PyObject_IsTrue(enabled);
    if (on < 0)
        return NULL;
    if (!on)
        return call_fallback(data, allow_trailing);
    PyObject *frame = decode_fast((const unsigned char *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data),
                                  allow_trailing);
    if (frame != Py_None)
        return frame;
    Py_DECREF(frame);
    return call_fallback(data, allow_trailing);
}

PyDoc_STRVAR(setup_doc,
"setup(fallback, layout_miss, fallback_marker, switch_module, value_type, frame_type, create_decimal)\n"
"--\n\nWire the native decoder to the Python side (called once, by gridcare.protocols.dlt645.codec).");

static PyObject *
setup(PyObject *self, PyObject *args)
{
    PyObject *fb, *miss, *marker, *module, *vt, *ft, *make_decimal;
    if (!PyArg_ParseTuple(args, "OOOO!O!O!O:setup", &fb, &miss, &marker, &PyModule_Type, &module, &PyType_Type, &vt,
                          &PyType_Type, &ft, &make_decimal))
        return NULL;
    if (slot_offsets(vt, VALUE_FIELDS, V_FIELDS, value_offsets) < 0 ||
        slot_offsets(ft, FRAME_FIELDS, F_FIELDS, frame_offsets) < 0)
        return NULL;
    Py_XSETREF(layout_miss, Py_NewRef(miss));
    Py_XSETREF(fallback_marker, Py_NewRef(marker));
    PyObject *namespace = PyModule_GetDict(module); /* borrowed */
    if (namespace == NULL)
        return NULL;
    Py_XSETREF(switch_dict, Py_NewRef(namespace));
    Py_XSETREF(value_type, (PyTypeObject *)Py_NewRef(vt));
    Py_XSETREF(frame_type, (PyTypeObject *)Py_NewRef(ft));
    Py_XSETREF(create_decimal, Py_NewRef(make_decimal));
    for (int k = 0; k < SLOTS; k++) { /* layouts found by an earlier layout_miss */
        Py_CLEAR(slots[k].entry);
        slots[k].key = 0;
    }
    Py_XSETREF(fallback, Py_NewRef(fb)); /* last: decode_frame runs once this is set */
    Py_RETURN_NONE;
}

static PyObject *
not_set_up(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyErr_SetString(PyExc_RuntimeError, "gridcare.protocols.dlt645._accel: setup() was not called");
    return NULL;
}

static PyObject *
decode_frame_entry(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (fallback == NULL)
        return not_set_up(self, args, nargs, kwnames);
    return decode_frame(self, args, nargs, kwnames);
}

static PyMethodDef methods[] = {
    {"decode_frame", (PyCFunction)(void (*)(void))decode_frame_entry, METH_FASTCALL | METH_KEYWORDS,
     decode_frame_doc},
    {"setup", setup, METH_VARARGS, setup_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_accel", "Native fast path of the DL/T 645 decoder (see _accel.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

#define INTERN(var, text)                                                                                      \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                                      \
        return NULL;

PyMODINIT_FUNC
PyInit__accel(void)
{
    if ((empty_tuple = PyTuple_New(0)) == NULL)
        return NULL;
    INTERN(s_enabled, "ENABLED");
    INTERN(s_reply, "reply");
    INTERN(s_protocol_2007, "dlt645-2007");
    INTERN(s_protocol_1997, "dlt645-1997");
    return PyModule_Create(&module_def);
}
