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

"""What every command reading the cloud has in common."""

from sev_scheduler import conf
from sev_scheduler.operators import cloud as sev_cloud


def add_scheduler_conf_argument(parser):
    """--nova-conf: the scheduler's [sev_scheduler] options, away from it."""
    parser.add_argument(
        '--nova-conf', metavar='FILE', action='append',
        help="read [sev_scheduler] from the scheduler's nova.conf "
             "(repeatable, later files win); the options' defaults "
             "otherwise")


def use_scheduler_conf(parsed_args):
    """Read the files --nova-conf named; ValueError says what is wrong."""
    if parsed_args.nova_conf:
        conf.use_scheduler_conf(parsed_args.nova_conf)


class CloudCommand:
    """A cliff command reading the cloud through ``operators.cloud``.

    Under ``sev-scheduler`` the Cloud comes from the --os-* options,
    clouds.yaml or OS_* variables; the ``openstack sev`` plugin overrides
    both methods to use the openstack client's own session. A command's
    ``take_action`` calls ``self.cloud(parsed_args)`` and nothing else
    about credentials.
    """

    def add_cloud_arguments(self, parser):
        sev_cloud.register_arguments(parser)

    def cloud(self, parsed_args):
        return sev_cloud.from_arguments(parsed_args)
