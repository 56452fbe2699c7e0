/* Configuration (docs/configuration.md): command line > environment > main file >
 * fallback file > default. */
#ifndef MO_CONFIG_H
#define MO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"
#include "util/log.h"
#include "util/strv.h"

/* The folders' defaults, compiled in from meson's prefix, sysconfdir, datadir and
 * localstatedir (meson.build), so that the program looks where `meson install` put things.
 * With --prefix=/usr: /etc/mender-orchestrator, /usr/share/mender-orchestrator and
 * /var/lib/mender-orchestrator (docs/installation.md). */
#define CONFIG_DEFAULT_CONF_DIR MO_CONF_DIR
#define CONFIG_DEFAULT_DATA_DIR MO_DATA_DIR
#define CONFIG_DEFAULT_DATASTORE_DIR MO_DATASTORE_DIR

struct config {
    /* directories (environment, defaults) */
    char *conf_dir;      /* MENDER_ORCHESTRATOR_CONF_DIR [CONFIG_DEFAULT_CONF_DIR] */
    char *data_dir;      /* MENDER_ORCHESTRATOR_DATA_DIR [CONFIG_DEFAULT_DATA_DIR] */
    char *datastore_dir; /* MENDER_ORCHESTRATOR_DATASTORE_DIR [CONFIG_DEFAULT_DATASTORE_DIR] */
    char *topology_dir;  /* MENDER_ORCHESTRATOR_TOPOLOGY_DIR [datastore] */
    char *main_file;     /* {conf}/mender-orchestrator.conf */
    char *fallback_file; /* {datastore}/mender-orchestrator.conf */

    struct strv verify_keys;        /* ArtifactVerifyKey or ArtifactVerifyKeys */
    bool cache_enabled;             /* ArtifactsCache.Enabled */
    char *cache_path;               /* ArtifactsCache.Path / MENDER_ORCHESTRATOR_ARTIFACTS_CACHE_DIR */
    uint64_t cache_max_bytes;       /* ArtifactsCache.MaxSizeBytes, 0 = unlimited */
    char *https_cert, *https_key;   /* HttpsClient.Certificate / .Key */
    long interface_timeout_seconds; /* InterfaceTimeoutSeconds [14400] */
    enum log_level log_level;       /* LogLevel [info] */
    char *manifest_store;           /* ManifestStore / MENDER_ORCHESTRATOR_MANIFEST_STORE_DIR */
    char *server_certificate;       /* ServerCertificate */
    char *topology_components;      /* -t > MENDER_ORCHESTRATOR_TOPOLOGY_COMPONENTS_FILE > TopologyComponents */
    int rollback_reboot_retries;    /* RollbackRebootRetries [3] */
    int max_parallel_interfaces;    /* MaxParallelInterfaces [0] */
    struct strv reboot_command;     /* RebootCommand [reboot] */
    long reboot_timeout_seconds;    /* RebootTimeoutSeconds [600] */
    char *repository_url;           /* ArtifactRepository.URL */
};

/* What the command line may override. NULL / false = not given. */
struct config_overrides {
    const char *log_level;
    const char *topology_components;
};

/* Loads the configuration from the environment and files. Returns 0, or -1 with
 * errors in d (malformed JSON, wrong types, bad values). Unknown keys are warnings. */
int config_load(struct config *cfg, const struct config_overrides *cli, struct diag_list *d);
/* The same with the contents of the main and fallback files given in memory instead
 * of read from disk (fuzzers, tests): a NULL text is a missing file. Messages still
 * name cfg->main_file and cfg->fallback_file. */
int config_load_texts(struct config *cfg, const struct config_overrides *cli, const char *main_text, size_t main_len,
                      const char *fallback_text, size_t fallback_len, struct diag_list *d);
void config_free(struct config *cfg);

/* Path of the Topology: $MENDER_ORCHESTRATOR_TOPOLOGY_DIR/topology.yaml. Caller frees. */
char *config_topology_path(const struct config *cfg);

#endif
