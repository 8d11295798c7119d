//! liblsq
