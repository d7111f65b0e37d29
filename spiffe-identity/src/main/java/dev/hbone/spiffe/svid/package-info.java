/** X.509-SVID validation per the SPIFFE X.509-SVID specification, with a specific reason for every refusal. */
package dev.hbone.spiffe.svid;
