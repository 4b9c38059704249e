// The wrappers are static inline in the header; this file gives the C target a translation unit.
#include "CCurl.h"
