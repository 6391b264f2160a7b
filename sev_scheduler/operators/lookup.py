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

"""What a server asked for, or a request not made yet, read from the APIs.

A server's embedded flavor, its image as Glance holds it now, and what the
compute API still shows of its volumes and ports; or a flavor and an image
by name or ID. What the APIs do not show is said, not guessed.
"""

import dataclasses
import re
import urllib.parse

from oslo_utils import uuidutils

from sev_scheduler.operators import cloud as sev_cloud
from sev_scheduler.operators import requests

#: A server embeds its flavor with extra specs since 2.47; a flavor listing
#: shows extra specs since 2.61.
SERVER_MICROVERSION = '2.47'
FLAVOR_MICROVERSION = '2.61'


class NotFound(Exception):
    """The input names nothing the cloud has; the message says what."""


@dataclasses.dataclass
class Asked:
    """A request, as far as the APIs show it.

    :ivar flavor: the flavor as the compute API shows it (alone, or
        embedded in a server).
    :ivar image: the image as Glance v2 shows it; None when the server
        boots from a volume.
    :ivar volumes: (volume ID, disk bus or None) besides the boot disk.
    :ivar ports: (port ID, vnic_type).
    :ivar rows: (field, value) saying where the request came from.
    :ivar boot_volume: (volume ID, disk bus or None) of the boot volume.
    :ivar unseen: what the request may hold that the APIs do not show
        ('volume buses', 'ports'): a fit is only as far as they show.
    """

    flavor: dict
    image: dict | None
    volumes: list = dataclasses.field(default_factory=list)
    ports: list = dataclasses.field(default_factory=list)
    rows: list = dataclasses.field(default_factory=list)
    boot_volume: tuple | None = None
    unseen: list = dataclasses.field(default_factory=list)
    #: the boot volume's image properties, from Cinder; None if not read
    volume_image: dict | None = None
    #: a server's ID, the message of its fault, and where it is placed:
    #: its compute service host and node (None when never placed)
    server_id: str | None = None
    fault: str | None = None
    host: str | None = None
    node: str | None = None

    @property
    def properties(self):
        """The image's properties as written.

        Glance's, or the boot volume's as Cinder keeps them.
        """
        if self.image is not None:
            return requests.image_properties(self.image)
        return self.volume_image or {}


def _one(found, what, name):
    if not found:
        raise NotFound('no %s %s' % (what, name))
    if len(found) > 1:
        raise NotFound('%d %ss are named %s: give the ID'
                       % (len(found), what, name))
    return found[0]


def find_flavor(cloud, name_or_id):
    """The flavor with this ID or name, extra specs included."""
    flavors = cloud.get_all('compute', '/flavors/detail?is_public=None',
                            'flavors', microversion=FLAVOR_MICROVERSION)
    by_id = [flavor for flavor in flavors if flavor['id'] == name_or_id]
    return by_id[0] if by_id else _one(
        [flavor for flavor in flavors if flavor['name'] == name_or_id],
        'flavor', name_or_id)


def find_image(cloud, name_or_id):
    """The image with this ID or name, as Glance v2 shows it."""
    if uuidutils.is_uuid_like(name_or_id):
        try:
            return cloud.get('image', '/v2/images/%s' % name_or_id)
        except sev_cloud.CloudError as error:
            raise NotFound('image %s: %s' % (name_or_id, error)) from None
    images = cloud.get('image', '/v2/images?' + urllib.parse.urlencode(
        {'name': name_or_id}))
    return _one([image for image in images['images']
                 if image.get('name') == name_or_id], 'image', name_or_id)


def find_server(cloud, name_or_id):
    """The server with this ID or exact name, in any project."""
    # Nova matches a name as a regular expression.
    query = urllib.parse.urlencode(
        {'uuid': name_or_id} if uuidutils.is_uuid_like(name_or_id)
        else {'name': '^%s$' % re.escape(name_or_id)})
    servers = cloud.get_all('compute', '/servers?all_tenants=1&' + query,
                            'servers', microversion=SERVER_MICROVERSION)
    found = _one([server for server in servers
                  if name_or_id in (server['id'], server['name'])],
                 'server', name_or_id)
    # A listing may leave the fault out (before Nova 2025.2).
    return cloud.get('compute', '/servers/%s' % found['id'],
                     microversion=SERVER_MICROVERSION)['server']


def volume_image(cloud, volume_id):
    """The properties of the image a volume was made from, as written.

    Cinder keeps them (``volume_image_metadata``); Nova reads them from
    there for a server booted from the volume.

    :raises CloudError: when Cinder cannot give the volume.
    """
    volume = cloud.get('volume', '/volumes/%s' % volume_id)['volume']
    return requests.image_properties(
        volume.get('volume_image_metadata') or {})


def for_request(cloud, flavor, image, volume_buses=(), vnic_types=()):
    """Asked for a request not made yet, flavor and image by name or ID."""
    flavor = find_flavor(cloud, flavor)
    image = find_image(cloud, image)
    # IDs made up here, so that the output names the same ones throughout.
    volumes = [(uuidutils.generate_uuid(), bus) for bus in volume_buses]
    ports = [(uuidutils.generate_uuid(), vnic) for vnic in vnic_types]
    rows = [('Flavor', '%s (%s)' % (flavor['name'], flavor['id'])),
            ('Image', '%s (%s)' % (image.get('name'), image['id']))]
    if volumes:
        rows.append(('Volumes', ['%s (new): %s' % volume
                                 for volume in volumes]))
    if ports:
        rows.append(('Ports', ['%s (new): %s' % port for port in ports]))
    return Asked(flavor=flavor, image=image, volumes=volumes, ports=ports,
                 rows=rows)


def server_volumes(cloud, server):
    """(volumes, boot volume) of a server, each (volume ID, bus).

    The boot volume of a server booted from a volume is the one attached
    at its root device name; None when the API does not show which (a
    server never placed has no device names yet), or for a server booted
    from an image. The bus is None where the API shows no device name.
    """
    attachments = cloud.get('compute', '/servers/%s/os-volume_attachments'
                            % server['id'])['volumeAttachments']
    volumes = [(attachment['volumeId'],
                requests.volume_bus(attachment.get('device')))
               for attachment in attachments]
    root = server.get('OS-EXT-SRV-ATTR:root_device_name')
    boot = None
    if not server.get('image') and root:
        boot = next((volume for volume, attachment
                     in zip(volumes, attachments)
                     if attachment.get('device') == root), None)
    return [volume for volume in volumes if volume != boot], boot


def server_ports(cloud, server):
    """(port ID, vnic_type) of the ports bound to the server."""
    interfaces = cloud.get('compute', '/servers/%s/os-interface'
                           % server['id'])['interfaceAttachments']
    ports = []
    for interface in interfaces:
        port = cloud.get('network', '/v2.0/ports/%s'
                         % interface['port_id'])['port']
        ports.append((port['id'], port.get('binding:vnic_type')))
    return ports


def for_server(cloud, name_or_id):
    """Asked for a server: its embedded flavor, its image as written now."""
    server = find_server(cloud, name_or_id)
    flavor = server['flavor']
    rows = [('Server', '%s (%s)' % (server['name'], server['id'])),
            ('Status', server['status'])]
    fault = (server.get('fault') or {}).get('message')
    if server.get('fault'):
        rows.append(('Fault', fault))
    host = server.get('OS-EXT-SRV-ATTR:host')
    if host:
        rows.append(('Host', host))
    rows.append(('Flavor', '%s, as embedded in the server'
                 % flavor.get('original_name')))
    unseen = []
    image = None
    if server.get('image'):
        image = find_image(cloud, server['image']['id'])
        rows.append(('Image', '%s (%s), properties as Glance holds them '
                     'now' % (image.get('name'), image['id'])))
    else:
        rows.append(('Image', 'none: boots from a volume'))
    kinds = []
    try:
        volumes, boot_volume = server_volumes(cloud, server)
    except sev_cloud.CloudError as error:
        volumes, boot_volume = [], None
        unseen.append('volumes: %s' % error)
        kinds.append('volumes')
    every_volume = ([boot_volume] if boot_volume else []) + volumes
    # A volume of a server never placed has no device name yet.
    no_bus = [volume_id for volume_id, bus in every_volume if bus is None]
    if every_volume:
        rows.append(('Volumes', ['%s: %s' % (volume_id,
                                             bus or 'the bus Nova picks')
                                 for volume_id, bus in every_volume]))
    if no_bus:
        unseen.append('the disk bus of volume(s) %s: the API shows no '
                      'device name yet, read as the bus Nova picks'
                      % ', '.join(no_bus))
        kinds.append('volume buses')
    try:
        ports = server_ports(cloud, server)
    except sev_cloud.CloudError as error:
        ports = None
        unseen.append('ports: %s' % error)
        kinds.append('ports')
    if ports:
        rows.append(('Ports', ['%s: %s' % port for port in ports]))
    elif ports is not None and not host:
        unseen.append('ports: none bound (Neutron binds ports on the host: '
                      'those of a server never placed are not shown)')
        kinds.append('ports')
    properties = None
    if image is None and boot_volume is None and volumes:
        # The API does not say which volume is the boot volume.
        boot_volume, volumes = volumes[0], volumes[1:]
        unseen.append('which volume is the boot volume: %s, the first '
                      'attached, is taken' % boot_volume[0])
    if image is None and boot_volume is not None:
        try:
            properties = volume_image(cloud, boot_volume[0])
        except sev_cloud.CloudError as error:
            unseen.append("the boot volume's image properties (Cinder's "
                          "volume_image_metadata): %s" % error)
            kinds.append('image properties')
        else:
            rows.append(('Boot volume image', 'properties as Cinder holds '
                         'them for volume %s' % boot_volume[0]))
    elif image is None:
        unseen.append("the boot volume's image properties: the API shows "
                      "no volume")
        kinds.append('image properties')
    if unseen:
        rows.append(('Not seen', unseen))
    return Asked(flavor=flavor, image=image, volumes=volumes,
                 ports=ports or [], rows=rows, boot_volume=boot_volume,
                 unseen=kinds, volume_image=properties,
                 server_id=server['id'], fault=fault, host=host,
                 node=server.get('OS-EXT-SRV-ATTR:hypervisor_hostname'))
