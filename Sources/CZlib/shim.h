// zlib (Debian's zlib1g-dev): reading and writing gzip-compressed traces.
#include <zlib.h>
