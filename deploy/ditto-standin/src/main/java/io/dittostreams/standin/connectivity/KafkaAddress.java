package io.dittostreams.standin.connectivity;

/** A Kafka target address "topic" or "topic/key-template", split as Ditto splits it. */
record KafkaAddress(String topic, String keyTemplate) {

    static KafkaAddress parse(String address) {
        int slash = address.indexOf('/');
        return slash < 0
                ? new KafkaAddress(address, null)
                : new KafkaAddress(address.substring(0, slash), address.substring(slash + 1));
    }
}
