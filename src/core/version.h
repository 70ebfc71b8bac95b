/* version.h: bookpipe's version, for --version and block fingerprints. */
#ifndef BP_VERSION_H
#define BP_VERSION_H

#define BOOKPIPE_VERSION "0.2.0"

#endif
