// OpenSSL glue that needs real C: walking a certificate's GENERAL_NAMES stack (typed-stack macros).
#include <string.h>
#include "CUnwrapdShims.h"

int unwrapd_x509_visit_dns_names(X509 *cert, void (*visit)(const char *name, int length, void *context),
                                 void *context) {
    int visited = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names != NULL) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
            const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
            if (name->type != GEN_DNS) continue;
            const unsigned char *bytes = ASN1_STRING_get0_data(name->d.dNSName);
            int length = ASN1_STRING_length(name->d.dNSName);
            if (bytes == NULL || length <= 0) continue;
            visit((const char *)bytes, length, context);
            visited++;
        }
        GENERAL_NAMES_free(names);
    }
    if (visited > 0) return visited;
    char common_name[256];
    int length = unwrapd_x509_subject_common_name(cert, common_name, (int)sizeof(common_name));
    if (length <= 0) return 0;
    visit(common_name, length, context);
    return 1;
}

int unwrapd_x509_subject_common_name(X509 *cert, char *buffer, int capacity) {
    X509_NAME *subject = X509_get_subject_name(cert);
    if (subject == NULL) return -1;
    int length = X509_NAME_get_text_by_NID(subject, NID_commonName, buffer, capacity);
    return length < 0 ? -1 : length;
}
