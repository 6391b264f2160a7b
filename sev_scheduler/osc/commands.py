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

from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as os_exc
from osc_lib import exceptions as osc_exc

from sev_scheduler.cmd import audit
from sev_scheduler.cmd import base
from sev_scheduler.cmd import capacity
from sev_scheduler.cmd import check_request
from sev_scheduler.cmd import explain
from sev_scheduler.operators import cloud as sev_cloud


class ClientSession(base.CloudCommand):
    """Read the cloud through ``openstack``'s client manager.

    Listed after the command class, so that the command's own ``cloud()``
    (capacity's --nova-conf) still comes first and calls this one through
    ``super()``.

    openstack authenticates before it runs a command that says
    ``auth_required``, and exits 1 when it cannot, which is a verdict here
    (audit's "findings"). These commands have it authenticate when they
    first read the cloud instead, by the client's own
    ``prepare_to_run_command``: a failure is then a CloudError, 255
    "nothing judged", as under ``sev-scheduler``.
    """

    auth_required = False

    def add_cloud_arguments(self, parser):
        # openstack already took the --os-* options.
        pass

    def cloud(self, parsed_args):
        self.auth_required = True
        try:
            self.app.prepare_to_run_command(self)
            return self.app.client_manager.sev
        except (osc_exc.CommandError, osc_exc.AuthorizationFailure,
                ks_exc.ClientException, os_exc.SDKException) as error:
            raise sev_cloud.CloudError(
                'cannot authenticate: %s' % error) from None


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
