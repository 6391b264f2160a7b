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

"""``sev-scheduler capacity``: encryption slots left in the cloud."""

import sys

from cliff import lister
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

import nova.conf.placement

from sev_scheduler import cloud_capacity


def _adapter_from_nova_conf(paths):
    """A Placement adapter from the [placement] section, as Nova makes it."""
    conf = cfg.ConfigOpts()
    group = nova.conf.placement.placement_group.name
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)
    ks_loading.register_adapter_conf_options(conf, group)
    conf.set_default('service_type',
                     nova.conf.placement.DEFAULT_SERVICE_TYPE, group=group)
    try:
        conf(args=[], project='nova', default_config_files=paths,
             default_config_dirs=[])
        auth = ks_loading.load_auth_from_conf_options(conf, group)
        session = ks_loading.load_session_from_conf_options(
            conf, group, auth=auth)
        return ks_loading.load_adapter_from_conf_options(
            conf, group, session=session, auth=auth)
    except (cfg.Error, ks_exc.ClientException, ValueError) as error:
        raise ValueError('cannot use [placement] of %s: %s'
                         % (', '.join(paths), error))


def _adapter_from_cloud(parsed_args):
    """A Placement adapter from clouds.yaml or OS_* variables."""
    from openstack import config as os_config
    from openstack import exceptions as os_exc
    try:
        region = os_config.OpenStackConfig().get_one(argparse=parsed_args)
        return ks_adapter.Adapter(
            session=region.get_session(), service_type='placement',
            interface=region.get_interface('placement'),
            region_name=region.get_region_name('placement'),
            endpoint_override=region.get_endpoint('placement'))
    except (os_exc.OpenStackCloudException, ks_exc.ClientException) as error:
        raise ValueError('cannot authenticate: %s' % error)


class Capacity(lister.Lister):
    """Encryption slots per host and model: total, used, free.

    Read from Placement in a few calls, for both provider layouts (the
    compute node's root provider before Nova 2025.2, a child provider per
    model since) and every model the installed os-traits names. Credentials
    come from clouds.yaml (--os-cloud) or OS_* variables, as for the
    openstack client, or from the [placement] section of a nova.conf
    (--nova-conf).
    """

    def get_parser(self, prog_name):
        from openstack import config as os_config
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--nova-conf', metavar='FILE', action='append',
            help='read credentials from the [placement] section of this '
                 'nova.conf (repeatable, later files win)')
        os_config.OpenStackConfig().register_argparse_arguments(
            parser, sys.argv[1:], service_keys=['placement'])
        return parser

    def take_action(self, parsed_args):
        adapter = (_adapter_from_nova_conf(parsed_args.nova_conf)
                   if parsed_args.nova_conf else
                   _adapter_from_cloud(parsed_args))
        placement = cloud_capacity.Placement(adapter)
        try:
            slots = cloud_capacity.read(placement)
        except cloud_capacity.PlacementError as error:
            raise ValueError(str(error))
        self.app.LOG.debug('%d Placement calls', placement.calls)
        rows = slots + cloud_capacity.totals(slots)
        return (('Host', 'Model', 'Total', 'Used', 'Free'),
                [(row.host, row.model, row.total, row.used,
                  row.total - row.used) for row in rows])
