/**
 * ztunnel's local configuration file ({@code LOCAL_XDS_PATH}): {@link dev.hbone.ztunnel.config.LocalConfig}
 * reads the YAML (top-level {@code workloads}, {@code services}, {@code policies}; camelCase keys; unknown
 * keys refused) into the {@link dev.hbone.ztunnel.state} model, and
 * {@link dev.hbone.ztunnel.config.LocalConfigWatcher} reloads it when the file changes.
 *
 * <p>A file with any error is refused as a whole, with every error listed
 * ({@link dev.hbone.ztunnel.config.InvalidConfigException#errors()}), so the caller keeps its previous
 * configuration.
 */
package dev.hbone.ztunnel.config;
