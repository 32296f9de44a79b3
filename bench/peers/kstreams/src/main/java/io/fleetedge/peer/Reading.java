package io.fleetedge.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;

/** The fields of a reefer reading that the window job reads (the edge's ReeferReading). */
record Reading(
        String containerId,
        long eventMs,
        long seq,
        String cargo,
        double setpoint,
        double supply,
        double ret,
        double powerKw,
        boolean powerOn,
        boolean defrost,
        boolean doorOpen,
        double lat,
        double lon,
        Double[] pulp,
        boolean treatment) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The reading in {@code value}, or null if it is not one (the edge dead-letters those). */
    static Reading parse(byte[] value) {
        try {
            JsonNode n = JSON.readTree(value);
            JsonNode probes = n.path("pulp_c");
            Double[] pulp = new Double[probes.size()];
            for (int i = 0; i < pulp.length; i++) {
                pulp[i] = probes.get(i).isNull() ? null : probes.get(i).asDouble();
            }
            return new Reading(
                    n.get("container_id").asText(),
                    Instant.parse(n.get("event_time").asText()).toEpochMilli(),
                    n.get("seq").asLong(),
                    n.get("cargo").asText(),
                    n.get("setpoint_c").asDouble(),
                    n.get("supply_air_c").asDouble(),
                    n.get("return_air_c").asDouble(),
                    n.get("power_kw").asDouble(),
                    n.get("power_on").asBoolean(),
                    n.get("defrost").asBoolean(),
                    n.get("door_open").asBoolean(),
                    n.get("lat").asDouble(),
                    n.get("lon").asDouble(),
                    pulp,
                    n.path("treatment").asBoolean(false));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
