"""The theory core: critics and their normalizations, the NTK, SEEM, the theorems' checks and
predictions, and the toy problems (the 2-D toy MDP, Baird's star). Depends on nothing else in
the package but :mod:`seemrepro.runtime`."""
