"""Drive quintupleo's Redfish endpoint with sushy, as Ironic's redfish driver does.

usage: sushy_drive.py URL USER PASSWORD SYSTEM_PATH STEP [ARG...]

Each STEP prints one JSON object of what sushy saw; the Go test
(redfish/sushy_test.go) judges it and cloudsim's state between steps.
"""
import json
import sys
import time

import requests
import sushy
from sushy import exceptions

url, user, password, path, step = sys.argv[1:6]
args = sys.argv[6:]


def connect(u=user, p=password):
    return sushy.Sushy(url, username=u, password=p, verify=False)


def wait_power(system, want, timeout=20):
    seen = []
    deadline = time.time() + timeout
    while True:
        system.refresh()
        ps = str(system.power_state.value) if system.power_state else None
        if not seen or seen[-1] != ps:
            seen.append(ps)
        if ps == want:
            return seen
        if time.time() > deadline:
            raise SystemExit('PowerState went %s, never %s' % (seen, want))
        time.sleep(0.02)


def boot(system):
    system.refresh()
    b = system.boot
    return {'target': b.target and b.target.value,
            'enabled': b.enabled and b.enabled.value,
            'mode': b.mode and b.mode.value}


def http_error(fn):
    try:
        fn()
    except exceptions.HTTPError as e:
        ext = (e.body or {}).get('@Message.ExtendedInfo', [{}])
        return {'status': e.status_code, 'class': type(e).__name__,
                'message_id': ext[0].get('MessageId'), 'detail': e.detail,
                'resolution': ext[0].get('Resolution')}
    except exceptions.SushyError as e:
        return {'class': type(e).__name__, 'error': str(e)}
    return {'status': 'no error'}


def systems():
    """Log in as Ironic does (a session, else HTTP Basic) and list."""
    s = connect()
    return {'session': s._conn._session.headers.get('X-Auth-Token') is not None,
            'systems': len(s.get_system_collection().get_members()),
            'power_state': s.get_system(path).power_state.value}


def inspect():
    s = connect()
    system = s.get_system(path)
    procs = system.processors.summary
    nics = system.ethernet_interfaces.summary
    return {
        'session': s._conn._session.headers.get('X-Auth-Token') is not None,
        'systems': len(s.get_system_collection().get_members()),
        'managers': len(s.get_manager_collection().get_members()),
        'chassis': len(s.get_chassis_collection().get_members()),
        'identity': system.identity, 'uuid': system.uuid, 'name': system.name,
        'power_state': system.power_state.value,
        'boot': boot(system),
        'reset_allowed': sorted(v.value for v in system.get_allowed_reset_system_values()),
        'boot_allowed': sorted(v.value for v in system.get_allowed_system_boot_source_values()),
        'cpus': procs.count, 'memory_gib': system.memory_summary.size_gib,
        'macs': sorted(nics),
        'manager_type': system.managers[0].manager_type.value,
        'manager_for': [m.identity for m in system.managers[0].systems],
        'chassis_of': [c.identity for c in system.chassis],
    }


def resets():
    system = connect().get_system(path)
    seen = {}
    for reset, want in [('On', 'On'), ('GracefulRestart', 'On'), ('ForceRestart', 'On'),
                        ('GracefulShutdown', 'Off'), ('ForceOn', 'On'), ('ForceOff', 'Off'),
                        ('PushPowerButton', 'On'), ('PushPowerButton', 'Off')]:
        system.reset_system(sushy.ResetType(reset))
        seen.setdefault(reset, []).append(wait_power(system, want))
    # Nmi: refused while Off, sent to Nova (trigger_crash_dump) while On.
    seen['Nmi_off'] = http_error(lambda: system.reset_system(sushy.ResetType.NMI))
    system.reset_system(sushy.ResetType.ON)
    wait_power(system, 'On')
    seen['Nmi'] = http_error(lambda: system.reset_system(sushy.ResetType.NMI))
    system.reset_system(sushy.ResetType.FORCE_OFF)
    wait_power(system, 'Off')
    return seen


def once():
    system = connect().get_system(path)
    system.set_system_boot_options(sushy.BootSource.PXE, enabled=sushy.BootSourceOverrideEnabled.ONCE)
    return {'boot': boot(system)}


def power_on():
    system = connect().get_system(path)
    system.reset_system(sushy.ResetType.ON)
    wait_power(system, 'On')
    # The override is spent once the power-on is done: poll, it follows the
    # power state by one metadata write.
    deadline = time.time() + 10
    while boot(system)['enabled'] != 'Continuous' and time.time() < deadline:
        time.sleep(0.02)
    return {'boot': boot(system)}


def continuous():
    system = connect().get_system(path)
    system.set_system_boot_options(sushy.BootSource.PXE, enabled=sushy.BootSourceOverrideEnabled.CONTINUOUS)
    system.reset_system(sushy.ResetType.FORCE_OFF)
    wait_power(system, 'Off')
    system.reset_system(sushy.ResetType.ON)
    wait_power(system, 'On')
    return {'boot': boot(system)}


def errors():
    s = connect()
    system = s.get_system(path)
    conn = s._conn
    return {
        'wrong_password': http_error(lambda: connect(p='wrong').get_system(path)),
        'cd_client_side': http_error(lambda: system.set_system_boot_options(sushy.BootSource.CD)),
        'cd': http_error(lambda: conn.patch(path, data={'Boot': {'BootSourceOverrideTarget': 'Cd'}})),
        'uefi': http_error(lambda: system.set_system_boot_options(mode=sushy.BootSourceOverrideMode.UEFI)),
        'unknown_property': http_error(lambda: conn.patch(path, data={'AssetTag': 'x'})),
        'not_an_object': http_error(lambda: conn.patch(path, data='{"Boot":')),
        'wrong_etag': http_error(lambda: conn.patch(path, data={'Boot': {'BootSourceOverrideTarget': 'Pxe'}},
                                                    headers={'If-Match': '"not-the-etag"'})),
        # sushy's own PATCH sends the ETag it read: accepted.
        'sushy_etag': http_error(lambda: system.set_system_boot_options(sushy.BootSource.HDD,
                                                                        enabled=sushy.BootSourceOverrideEnabled.CONTINUOUS)),
        'malformed_bytes': malformed(),
    }


def malformed():
    r = requests.patch(url + path, data=b'{"Boot": {', auth=(user, password),
                       headers={'Content-Type': 'application/json'}, verify=False)
    return {'status': r.status_code, 'message_id': r.json()['error']['@Message.ExtendedInfo'][0]['MessageId']}


def read_only():
    # HTTP Basic: over a session, sushy answers a 403 by logging in again
    # and re-sending, and never looks at the second answer (connector._op),
    # so the refusal would not surface.
    s = sushy.Sushy(url, auth=sushy.auth.BasicAuth(username=user, password=password), verify=False)
    system = s.get_system(path)
    return {'power_state': system.power_state.value,
            'reset': http_error(lambda: system.reset_system(sushy.ResetType.ON)),
            'boot': http_error(lambda: system.set_system_boot_options(sushy.BootSource.PXE))}


def cd_of(system):
    """The CD as Ironic's redfish-virtual-media finds it: the manager's
    virtual media member whose MediaTypes has CD."""
    for m in system.managers[0].virtual_media.get_members():
        if sushy.VIRTUAL_MEDIA_CD in m.media_types:
            return m
    raise SystemExit('no CD among the virtual media')


def media(m):
    m.refresh()
    return {'id': m.identity, 'image': m.image, 'image_name': m.image_name, 'inserted': m.inserted,
            'write_protected': m.write_protected,
            'connected_via': m.connected_via and m.connected_via.value,
            'transfer_method': m.transfer_method and m.transfer_method.value,
            'media_types': sorted(t.value for t in m.media_types)}


def vm_insert():
    system = connect().get_system(path)
    cd = cd_of(system)
    before = media(cd)
    cd.insert_media(args[0], inserted=True, write_protected=True)
    return {'before': before, 'after': media(cd_of(system)), 'boot_allowed': sorted(
        v.value for v in system.get_allowed_system_boot_source_values())}


def vm_boot(enabled):
    system = connect().get_system(path)
    system.set_system_boot_options(sushy.BootSource.CD, enabled=sushy.BootSourceOverrideEnabled(enabled))
    set_to = boot(system)
    system.reset_system(sushy.ResetType.ON)
    wait_power(system, 'On')
    deadline = time.time() + 10
    while enabled == 'Once' and boot(system)['enabled'] != 'Continuous' and time.time() < deadline:
        time.sleep(0.02)
    return {'set': set_to, 'after_power_on': boot(system)}


def vm_restart():
    system = connect().get_system(path)
    system.reset_system(sushy.ResetType.FORCE_RESTART)
    return {}


def vm_power_off():
    system = connect().get_system(path)
    system.reset_system(sushy.ResetType.FORCE_OFF)
    wait_power(system, 'Off')
    return {'boot': boot(system)}


def vm_eject():
    s = connect()
    system = s.get_system(path)
    cd = cd_of(system)
    # Not cd.eject_media(): sushy swallows any refusal of it but a 400 or
    # 415 (which it answers by posting again with {}).
    answer = http_error(lambda: s._conn.post(cd.path + '/Actions/VirtualMedia.EjectMedia'))
    return {'eject': answer, 'after': media(cd_of(system)), 'boot': boot(system)}


def vm_sushy_eject():
    system = connect().get_system(path)
    cd = cd_of(system)
    cd.eject_media()
    return {'after': media(cd_of(system)), 'boot': boot(system)}


def vm_errors():
    system = connect().get_system(path)
    cd = cd_of(system)
    conn = connect()._conn
    target = cd.path + '/Actions/VirtualMedia.InsertMedia'
    return {
        'cd_empty': http_error(lambda: system.set_system_boot_options(sushy.BootSource.CD)),
        'ftp': http_error(lambda: cd.insert_media('ftp://example.com/boot.iso')),
        'writable': http_error(lambda: cd.insert_media(args[0], write_protected=False)),
        'stream': http_error(lambda: cd.insert_media(args[0], transfer_method='Stream')),
        'credentials': http_error(lambda: cd.insert_media(args[0], username='u', password='p')),
        'nfs': http_error(lambda: conn.post(target, data={'Image': args[0], 'TransferProtocolType': 'NFS'})),
        'no_image': http_error(lambda: conn.post(target, data={'Inserted': True})),
        'unknown': http_error(lambda: conn.post(target, data={'Image': args[0], 'Foo': 1})),
        'floppy': http_error(lambda: conn.get(system.managers[0].path + '/VirtualMedia/Floppy')),
        'glance_refuses': http_error(lambda: cd.insert_media(args[1])),
        'download_fails': http_error(lambda: cd.insert_media(args[2])),
        'after': media(cd_of(system)),
    }


def vm_twice():
    cd = cd_of(connect().get_system(path))
    return {'second': http_error(lambda: cd.insert_media(args[0]))}


steps = {'vm-insert': vm_insert, 'vm-once': lambda: vm_boot('Once'), 'vm-continuous': lambda: vm_boot('Continuous'),
         'vm-restart': vm_restart, 'vm-off': vm_power_off, 'vm-eject': vm_eject, 'vm-errors': vm_errors,
         'vm-twice': vm_twice, 'vm-sushy-eject': vm_sushy_eject,
'inspect': inspect, 'resets': resets, 'once': once, 'poweron': power_on,
         'continuous': continuous, 'errors': errors, 'readonly': read_only, 'systems': systems}
print(json.dumps(steps[step]()))
