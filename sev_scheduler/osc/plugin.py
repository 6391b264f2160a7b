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

"""The openstackclient plugin: ``openstack sev ...``.

openstackclient imports this module, named by the ``openstack.cli.extension``
entry point, on every run of ``openstack``, whatever the command: it
imports nothing heavy (no Nova) until a ``sev`` command asks for its client.
"""

import logging

from osc_lib import utils

LOG = logging.getLogger(__name__)

API_NAME = 'sev'
API_VERSION_OPTION = 'os_sev_api_version'
DEFAULT_API_VERSION = '1'
# Commands are in the ``openstack.sev.v1`` entry-point group; the client of
# every version is the operator tools' one seam to the cloud's APIs.
API_VERSIONS = {'1': 'sev_scheduler.operators.cloud.Cloud'}


def make_client(instance):
    """The Cloud the ``openstack sev`` commands read.

    On the openstack client's own session, region and interface. Endpoint
    overrides (clouds.yaml ``<service>_endpoint_override``,
    ``--os-<service>-endpoint-override``) come from the CloudRegion the
    client manager holds, so that a cloud without a service catalog works.

    :param instance: openstackclient's ClientManager
    """
    from sev_scheduler.operators import cloud

    # osc_lib keeps the CloudRegion as _cli_options: no public accessor
    # returns a per-service endpoint override without falling back to the
    # catalog or, for an admin_token cloud, to the one token endpoint.
    region = instance._cli_options
    endpoints = {service: region.get_endpoint(service)
                 for service in cloud.SERVICES}
    LOG.debug('sev client endpoint overrides: %s', endpoints)
    return cloud.from_session(
        instance.session, region_name=instance.region_name,
        interface=instance.interface,
        endpoints={service: url for service, url in endpoints.items()
                   if url})


def build_option_parser(parser):
    parser.add_argument(
        '--os-sev-api-version', metavar='<sev-api-version>',
        default=utils.env('OS_SEV_API_VERSION', default=DEFAULT_API_VERSION),
        help='sev-scheduler command set version, default=%s '
             '(Env: OS_SEV_API_VERSION)' % DEFAULT_API_VERSION)
    return parser
