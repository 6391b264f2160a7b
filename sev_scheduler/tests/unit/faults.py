#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""What a tenant and an operator read when SEVFilter cannot check."""

import re

UNCHECKED = ("Memory encryption was requested but could not be checked at "
             "this time; please try again later")


def assert_unchecked(test, message, detail, log):
    """The fault tells the tenant to try later; the log says why.

    :param message: the server's fault (NoValidHost's message).
    :param detail: what failed, in the operator's words.
    :param log: the captured log output.
    """
    test.assertIn(UNCHECKED, message)
    test.assertNotIn(detail, message)
    test.assertRegex(
        log, r"WARNING \[sev_scheduler.filters\] SEVFilter cannot check "
        r"memory encryption for instance [0-9a-f-]{36}: " +
        re.escape(detail))
