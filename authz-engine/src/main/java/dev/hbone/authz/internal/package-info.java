/**
 * Implementation details: YAML reading, the compiled (evaluation-ready) form of policies, matchers.
 * Not API: may change without notice.
 */
package dev.hbone.authz.internal;
