/* The version of this mender-orchestrator ("0.2.0"), as --version prints it and as the
 * journal records it in every deployment it writes (docs/compatibility.md). */
#ifndef MO_UTIL_VERSION_H
#define MO_UTIL_VERSION_H

const char *mo_version(void);

#endif
