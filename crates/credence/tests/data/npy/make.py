"""Writes the .npy fixtures of tests/npy.rs with NumPy (run once; the files are committed).
The values are chosen so the tests can recompute them: element i of the C-order array is i
(or i mod 2 for bool, i mod 10 for labels)."""
import numpy as np
from numpy.lib import format as fmt

def save(name, arr, version=None):
    with open(name, "wb") as f:
        fmt.write_array(f, arr, version=version)

n = np.arange(2 * 3 * 2 * 2)
save("nchw_f4.npy", n.reshape(2, 3, 2, 2).astype("<f4"))
save("nhw_f8_big.npy", np.arange(3 * 2 * 2).reshape(3, 2, 2).astype(">f8"))
save("nd_fortran_f8.npy", np.asfortranarray(np.arange(4 * 3).reshape(4, 3).astype("<f8")))
save("nd_i2_v2.npy", np.arange(4 * 3).reshape(4, 3).astype("<i2"), version=(2, 0))
save("nd_u1_v3.npy", np.arange(4 * 3).reshape(4, 3).astype("u1"), version=(3, 0))
save("labels_i8.npy", (np.arange(2) % 10).astype("<i8"))
save("labels3_u4_big.npy", np.array([0, 1, 1], dtype=">u4"))
save("labels4_bool.npy", np.array([False, True, False, True]))
save("labels4_n1_i4.npy", np.array([[0], [1], [2], [1]], dtype="<i4"))
save("neg_i1.npy", np.array([[-128, -1, 0, 127]], dtype="i1"))
np.save("object.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
