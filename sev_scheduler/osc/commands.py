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

"""The ``openstack sev`` commands: the sev-scheduler commands, unchanged.

Each is the ``sev-scheduler`` command class with the openstack client's
session in place of the command's own credentials: same options (less the
--os-* ones, which ``openstack`` already has), same output, same exit
status. The logic lives once, in sev_scheduler/operators/.
"""

from sev_scheduler.cmd import audit
from sev_scheduler.cmd import base
from sev_scheduler.cmd import capacity
from sev_scheduler.cmd import check_request
from sev_scheduler.cmd import explain


class ClientSession(base.CloudCommand):
    """Read the cloud through ``openstack``'s client manager.

    Listed after the command class, so that the command's own ``cloud()``
    (capacity's --nova-conf) still comes first and calls this one through
    ``super()``.
    """

    def add_cloud_arguments(self, parser):
        # openstack already took the --os-* options and made the session.
        pass

    def cloud(self, parsed_args):
        return self.app.client_manager.sev


class Capacity(capacity.Capacity, ClientSession):
    __doc__ = capacity.Capacity.__doc__


class Explain(explain.Explain, ClientSession):
    __doc__ = explain.Explain.__doc__


class Audit(audit.Audit, ClientSession):
    __doc__ = audit.Audit.__doc__


class CheckRequest(check_request.CheckRequest):
    __doc__ = check_request.CheckRequest.__doc__

    # Offline: openstack need not authenticate first.
    auth_required = False
