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

"""What the demo records: each request's outcome, each tool's run.

Plain data, importable without Nova's harness (the command formats it).
"""

import collections

#: Who refused a request.
SEV_FILTER = 'SEVFilter'
NOVA_API = "Nova's API"
PLACEMENT = 'Placement'
NOVA_SCHEDULER = "Nova's scheduler"


class Outcome(collections.namedtuple('Outcome', [
        'request', 'asked', 'servers', 'hosts', 'origin', 'reason',
        'explain', 'note'], defaults=('',))):
    """One scripted request, as its user and its operator see it.

    :param servers: the names of the servers it made (several for a
        multi-create, none when Nova's API refused it).
    :param hosts: where they landed, in order; empty when refused.
    :param origin: who refused it (SEV_FILTER, NOVA_API, PLACEMENT,
        NOVA_SCHEDULER or another filter's name); None when it landed.
    :param reason: the fault message, or the API's error; '' when landed.
    :param explain: the command line that says why, when the fault does
        not; None otherwise.
    :param note: what else to know about it.
    """

    @property
    def refused(self):
        return self.origin is not None


#: One operator tool's section: a short heading, what it shows, its run.
Section = collections.namedtuple('Section', ['heading', 'note', 'run'])

#: The fault of a request no host took, whoever dropped the hosts.
NOT_ENOUGH_HOSTS = 'There are not enough hosts available.'
NO_VALID_HOST = 'No valid host was found.'
