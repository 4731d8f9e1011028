/* SPDX-License-Identifier: BSD-3-Clause */
/* callseal-srtp-selftest: run the engine's known-answer self-test on every
 * intel-ipsec-mb architecture this CPU supports. Exit 0 when all pass. */
#include <stdio.h>

#include "callseal_version.h"
#include "csrtp.h"

int main(int argc, char **argv)
{
	static const IMB_ARCH archs[] = { IMB_ARCH_NONE, IMB_ARCH_SSE, IMB_ARCH_AVX,
					  IMB_ARCH_AVX2, IMB_ARCH_AVX512 };
	int failures = 0;

	if (callseal_version_arg(argc, argv, "callseal-srtp-selftest"))
		return 0;

	printf("callseal SRTP engine self-test (intel-ipsec-mb %s)\n", imb_get_version_str());
	for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++) {
		struct csrtp_engine *e = csrtp_engine_create(archs[i]);
		if (e == NULL) {
			printf("  %-14s not supported by this CPU, skipped\n",
			       i == 0 ? "auto" : "requested arch");
			continue;
		}
		const char *failed = NULL;
		int ret = csrtp_selftest(e, &failed);
		printf("  %s%-8s RFC 7714 16.1.1 16.2.1 17.1 17.4, RFC 3711 B.3, AES-CM/HMAC-SHA1: %s%s\n",
		       i == 0 ? "auto=" : "", csrtp_engine_arch_name(e),
		       ret == 0 ? "pass" : "FAIL at ", ret == 0 ? "" : failed);
		failures += ret != 0;
		csrtp_engine_destroy(e);
	}
	return failures ? 1 : 0;
}
