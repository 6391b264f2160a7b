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

"""The cloud's APIs, reached with the credentials the openstack client takes.

One seam for every cloud-wide operator command (capacity, explain, audit,
metrics), under both ``sev-scheduler`` and ``openstack sev``: a
keystoneauth Adapter per service, from clouds.yaml or OS_* variables
(openstacksdk's config, as the openstack client reads it) or from the
session an openstackclient plugin is handed. What a call raises becomes
one CloudError, whose message says which call failed and how.
"""

import argparse
import os
import urllib.parse

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

import nova.conf.placement

from sev_scheduler import capacity

# The service types read, and the microversion each is asked at: 2.53 is
# the first compute microversion with service UUIDs; a server embeds its
# flavor's extra specs since 2.47.
MICROVERSIONS = {
    'compute': '2.53',
    'placement': capacity.PLACEMENT_VERSION,
    'image': None,
    'volume': '3.0',
    'network': None,
}
SERVICES = tuple(MICROVERSIONS)
# How an operator names each service in a message.
NAMES = {'compute': 'Nova', 'placement': 'Placement', 'image': 'Glance',
         'volume': 'Cinder', 'network': 'Neutron'}


#: How often a call is retried when it cannot connect, or when the API
#: answers 503 (keystoneauth's retriable status), backing off from 0.5 s.
RETRIES = 3


class CloudError(Exception):
    """An API of the cloud could not be read; the message says why."""

    def __init__(self, message, status=None):
        super().__init__(message)
        #: the HTTP status the API answered, None when it did not answer
        self.status = status


class Cloud:
    """GETs against the cloud's APIs, counted per service."""

    def __init__(self, adapters):
        #: service type -> keystoneauth Adapter
        self.adapters = adapters
        #: service type -> calls made
        self.calls = dict.fromkeys(adapters, 0)

    def get(self, service, url, microversion=None):
        """The JSON body of ``GET url`` on a service.

        :raises CloudError: when the service cannot be reached or answers
            anything but 200.
        """
        self.calls[service] += 1
        adapter = self.adapters[service]
        _authenticate(adapter, service)
        try:
            response = adapter.get(
                url, raise_exc=False,
                microversion=microversion or MICROVERSIONS[service])
        except ks_exc.ClientException as error:
            raise CloudError('cannot reach %s: %s'
                             % (NAMES[service], error)) from None
        if response.status_code != 200:
            raise CloudError('%s answered %s to GET %s: %s' % (
                NAMES[service], response.status_code, url,
                response.text[:200]), status=response.status_code)
        try:
            return response.json()
        except ValueError:
            raise CloudError('%s answered GET %s with no JSON'
                             % (NAMES[service], url)) from None

    def get_all(self, service, url, key, microversion=None):
        """Every item of a listing the API pages, all pages read.

        Nova answers at most ``[api] max_limit`` items (1,000 by default)
        and links the next page (``<key>_links``, rel next); its query is
        sent to the same path, whatever host the link names.

        :param key: the listing's key in the body ('hypervisors').
        :raises CloudError: as ``get``.
        """
        path = url.partition('?')[0]
        items = []
        while True:
            body = self.get(service, url, microversion)
            items += body[key]
            following = [link['href'] for link in body.get(key + '_links', ())
                         if link.get('rel') == 'next']
            if not body[key] or not following:
                return items
            url = '%s?%s' % (path, urllib.parse.urlsplit(following[0]).query)


def _authenticate(adapter, service):
    """Have the token and endpoint, so that Keystone's failures say so.

    Both are cached by keystoneauth: a call to Keystone only when a token
    is due.

    :raises CloudError: when Keystone cannot be reached or refuses.
    """
    auth = adapter.auth or adapter.session.auth
    if auth is None:
        return
    keystone = getattr(auth, 'auth_url', None) or 'its endpoint'
    try:
        adapter.session.get_auth_headers(auth=auth)
        adapter.get_endpoint()
    except ks_exc.ConnectionError as error:
        raise CloudError('cannot reach Keystone at %s: %s'
                         % (keystone, error)) from None
    except ks_exc.EndpointNotFound as error:
        raise CloudError('the catalog of Keystone at %s has no %s endpoint: '
                         '%s' % (keystone, NAMES[service], error)) from None
    except ks_exc.ClientException as error:
        raise CloudError('cannot authenticate with Keystone at %s: %s'
                         % (keystone, error)) from None


def _adapter(session, service, **kwargs):
    """A keystoneauth Adapter retrying what may pass on a second try."""
    return ks_adapter.Adapter(
        session=session, service_type=service, connect_retries=RETRIES,
        status_code_retries=RETRIES, **kwargs)


def from_session(session, region_name=None, interface=None,
                 endpoints=None):
    """A Cloud on a keystoneauth session (an openstackclient plugin's).

    :param endpoints: service type -> endpoint URL overriding the catalog.
    """
    endpoints = endpoints or {}
    return Cloud({service: _adapter(
        session, service, region_name=region_name, interface=interface,
        endpoint_override=endpoints.get(service))
        for service in SERVICES})


def from_region(region):
    """A Cloud from an openstacksdk CloudRegion (clouds.yaml, OS_*)."""
    session = region.get_session()
    return Cloud({service: _adapter(
        session, service, interface=region.get_interface(service),
        region_name=region.get_region_name(service),
        endpoint_override=region.get_endpoint(service))
        for service in SERVICES})


def register_arguments(parser, argv):
    """Add the openstack client's --os-* options to an argparse parser.

    Never raises: a cloud that cannot be read is the command's to report
    (``from_arguments``), as "nothing judged", not cliff's error while the
    command line is parsed.

    :param argv: the command's arguments, as handed to ``main()``: their
        --os-cloud and --os-auth-type say which auth options there are.
    """
    from openstack import config as os_config
    from openstack import exceptions as os_exc
    for config, peek in (
            (os_config.OpenStackConfig(), list(argv)),
            # An unknown cloud (--os-cloud, OS_CLOUD) or auth type: the
            # default options, read neither from clouds.yaml nor from
            # OS_CLOUD; from_arguments says what is wrong.
            (os_config.OpenStackConfig(load_yaml_config=False,
                                       load_envvars=False), [])):
        try:
            # On a scratch parser first: openstacksdk raises half-way.
            config.register_argparse_arguments(
                argparse.ArgumentParser(add_help=False), list(peek),
                service_keys=list(SERVICES))
        except os_exc.ConfigException:
            continue
        config.register_argparse_arguments(parser, peek,
                                           service_keys=list(SERVICES))
        parser.set_defaults(os_cloud=os.environ.get('OS_CLOUD'))
        return
    # OS_AUTH_TYPE names no plugin (keystoneauth reads it, whatever it is
    # told): no --os-* option; from_arguments says what is wrong.


def from_arguments(parsed_args):
    """A Cloud from the --os-* options, clouds.yaml and OS_* variables.

    :raises CloudError: when the credentials cannot be used.
    """
    from openstack import config as os_config
    from openstack import exceptions as os_exc
    try:
        return from_region(
            os_config.OpenStackConfig().get_one(argparse=parsed_args))
    except (os_exc.OpenStackCloudException, ks_exc.ClientException) as error:
        raise CloudError('cannot authenticate: %s' % error) from None


def from_nova_conf(paths):
    """A Cloud of Placement alone, from the [placement] section of nova.conf.

    The adapter is made as Nova makes its own, for a scheduler host whose
    operator has no clouds.yaml.

    :raises CloudError: when the files or credentials cannot be used.
    """
    conf = cfg.ConfigOpts()
    group = nova.conf.placement.placement_group.name
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)
    ks_loading.register_adapter_conf_options(conf, group)
    conf.set_default('service_type',
                     nova.conf.placement.DEFAULT_SERVICE_TYPE, group=group)
    # The file's own [placement] connect_retries, status_code_retries win.
    conf.set_default('connect_retries', RETRIES, group=group)
    conf.set_default('status_code_retries', RETRIES, group=group)
    try:
        conf(args=[], project='nova', default_config_files=paths,
             default_config_dirs=[])
        auth = ks_loading.load_auth_from_conf_options(conf, group)
        session = ks_loading.load_session_from_conf_options(
            conf, group, auth=auth)
        return Cloud({'placement': ks_loading.load_adapter_from_conf_options(
            conf, group, session=session, auth=auth)})
    except (cfg.Error, ks_exc.ClientException, ValueError) as error:
        raise CloudError('cannot use [placement] of %s: %s'
                         % (', '.join(paths), error)) from None
